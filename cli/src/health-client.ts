// A client of the standard grpc.health.v1.Health service (the SDK has none):
// `saga health` and the container's HEALTHCHECK (health-probe.ts) use it. It
// does not load the SDK, so that the probe starts quickly.

import { Metadata, makeClientConstructor, status, type ChannelCredentials, type Client, type ServiceError } from '@grpc/grpc-js';

/** A failed Check: the gRPC status code and details. */
export class HealthCheckError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`Health.Check failed: ${status[code] ?? code}: ${details}`);
    this.name = 'HealthCheckError';
  }
}
import { service } from 'grpc-health-check';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

type CheckCallback = (err: ServiceError | null, response?: { status: ServingStatus }) => void;
interface HealthStub extends Client {
  Check(request: { service: string }, metadata: Metadata, options: { deadline: Date }, callback: CheckCallback): void;
}

const HealthStubConstructor = makeClientConstructor(service, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  credentials: ChannelCredentials,
) => HealthStub;

export class HealthClient {
  private readonly stub: HealthStub;

  constructor(address: string, credentials: ChannelCredentials, private readonly metadata: Readonly<Record<string, string>>) {
    this.stub = new HealthStubConstructor(address, credentials);
  }

  /** The serving status of `service` ('' = the whole server). */
  check(serviceName: string, deadlineMs: number): Promise<ServingStatus> {
    const md = new Metadata();
    for (const [k, v] of Object.entries(this.metadata)) md.set(k, v);
    return new Promise((resolve, reject) => {
      this.stub.Check({ service: serviceName }, md, { deadline: new Date(Date.now() + deadlineMs) }, (err, response) => {
        if (err) reject(new HealthCheckError(err.code, err.details));
        else if (response === undefined) reject(new HealthCheckError(status.INTERNAL, 'empty response'));
        else resolve(response.status);
      });
    });
  }

  close(): void {
    this.stub.close();
  }
}
