import type { ExampleService } from './example-service.js';
import { notificationService } from './notification/notification-service.js';
import { ordersService } from './orders/orders-service.js';
import { pointsService } from './points/points-service.js';
import { stockService } from './stock/stock-service.js';

/** The example services of the order scenario, by PARTICIPANT_SERVICE name. */
export const SERVICES = {
  orders: ordersService,
  stock: stockService,
  points: pointsService,
  notification: notificationService,
} as const satisfies Record<string, ExampleService>;

export type ServiceName = keyof typeof SERVICES;

export function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(SERVICES, name);
}
