// Who is calling, as the coordinator's authorization sees it. Free of gRPC
// types: the gRPC edge and the HTTP console both use it.

export type Role = 'client' | 'operator' | 'producer';

export const ROLES: readonly Role[] = ['client', 'operator', 'producer'];

export interface Principal {
  /** Roles held: those of the credentials presented, plus every role no credential is configured for (open). */
  readonly roles: ReadonlySet<Role>;
  /** With the producer role from a credential: the producer (registered participant) it speaks for. */
  readonly producer?: string;
  /** False when no credential was presented: a refusal is then UNAUTHENTICATED, not PERMISSION_DENIED. */
  readonly authenticated: boolean;
}
