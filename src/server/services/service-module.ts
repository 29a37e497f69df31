import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServiceName } from '../../protocol/messages.generated.js';

/**
 * One gRPC service of the server. Modules are created once per server (their state survives
 * restarts) and registered on every start. Methods a module leaves out answer UNIMPLEMENTED.
 */
export interface ServiceModule {
  readonly service: ServiceName;
  readonly implementation: UntypedServiceImplementation;
  /** The server started listening (first start or restart). */
  started?(): void;
  /**
   * The server is stopping (it no longer takes calls): end this module's open streams now,
   * as a stopping etcd member does, so shutdown need not wait for them.
   */
  stopped?(): void;
  /** The server is closed for good: release timers and other resources. */
  close?(): void;
}
