/** A container while the daemon runs: its record plus live process, stdio, waiters and lock. */
import type { ProcessHandle } from '../drivers/exec-driver.js';
import type { JsonFileLogWriter } from '../logs/json-file-writer.js';
import type { WaitResult } from '../services.js';
import { Mutex } from '../store/index.js';
import type { ContainerRecord } from './container.js';
import type { HostConfigInput } from './create-config.js';
import { StdioHub } from './stdio-hub.js';

export class ContainerEntry {
  readonly hub: StdioHub;
  /** Serialises start/stop/remove/restart on this container. */
  readonly lock = new Mutex();
  process: ProcessHandle | null = null;
  /** Host path of the mounted root filesystem while the container runs. */
  rootfs: string | null = null;
  logWriter: JsonFileLogWriter | null = null;
  /** Settles when the current run has been fully handled (state recorded, cleanup done). */
  runFinished: Promise<void> | null = null;
  readonly exitWaiters = new Set<(r: WaitResult) => void>();
  readonly removeWaiters = new Set<(r: WaitResult) => void>();
  readonly execIds = new Set<string>();
  removed = false;
  /** What each state file last received, by path: an unchanged file is not written again. */
  readonly saved = new Map<string, string>();
  /** State writes run one after another, each saving the state as it is when it runs. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    public record: ContainerRecord,
    public hostConfig: HostConfigInput,
    readonly dir: string,
  ) {
    this.hub = new StdioHub(record.Config.Tty === true, record.Config.StdinOnce === true);
  }

  /** Queues a write of the current state; resolves when it (and every earlier one) is on disk. */
  save(write: () => Promise<void>): Promise<void> {
    const next = this.saving.then(write);
    this.saving = next.catch(() => {});
    return next;
  }

  get id(): string {
    return this.record.ID;
  }

  get name(): string {
    return this.record.Name;
  }

  get running(): boolean {
    return this.record.State.Running;
  }
}
