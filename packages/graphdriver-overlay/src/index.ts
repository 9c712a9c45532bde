/**
 * @tsdocker/graphdriver-overlay: the default export is the overlay2 driver's descriptor.
 * Importing the package has no side effects; the daemon calls `create` when the config selects
 * `overlay2` (or `overlay`), or when auto-selection finds overlay usable here.
 */
import {
  DRIVER_API_VERSION,
  type DriverContext,
  type GraphDriverDescriptor,
  invalidArgument,
  notSupported,
  type ProbeResult,
} from '@tsdocker/core';
import { OverlayDriver } from './overlay-driver.js';
import { checkOverlaySupport } from './support.js';

export { MAX_LOWER_DEPTH, type MountPlan, type OpenOptions, OverlayDriver } from './overlay-driver.js';
export { checkOverlaySupport, type OverlayFeatures, type SupportResult } from './support.js';

/** overlay2 takes no daemon-wide options yet; the type is here so the config can say so. */
export type OverlayOptions = Record<string, never>;

/** `storage-opts` as dockerd takes them for overlay2 (keys arrive lower-cased). */
function parseOptions(raw: unknown): OverlayOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidArgument('overlay2 options must be an object');
  for (const key of Object.keys(raw)) {
    if (key.toLowerCase() === 'overlay2.size') {
      throw notSupported(
        'Storage option overlay2.size not supported: tsdocker does not implement project quotas',
      );
    }
    throw invalidArgument(`overlay2: unknown option ${key}`);
  }
  return {};
}

/**
 * overlay2 needs Linux, root, overlayfs in the kernel (loaded with modprobe if need be), a
 * backing filesystem overlay can stack on, with d_type, and util-linux mount plus the attr tools.
 * A trial overlay in the driver's directory proves the rest.
 */
async function probe(ctx: DriverContext): Promise<ProbeResult> {
  const result = await checkOverlaySupport(ctx.stateDir);
  return result.supported ? { supported: true } : { supported: false, reason: result.reason };
}

const overlay2: GraphDriverDescriptor<OverlayOptions> = {
  kind: 'graph',
  name: 'overlay2',
  apiVersion: DRIVER_API_VERSION,
  parseOptions,
  probe,
  async create(ctx) {
    const driver = await OverlayDriver.open(ctx.stateDir, { logger: ctx.logger });
    ctx.logger.debug('overlay2 layers are overlayfs diff directories', {
      home: driver.home,
      ...Object.fromEntries(driver.status()),
    });
    return driver;
  },
};

export default overlay2;
