/**
 * @tsdocker/networkdriver-bridge: the default export is the driver's descriptor. Importing the
 * package has no side effects; the daemon calls `create` when the config selects `bridge`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  DRIVER_API_VERSION,
  type NetworkDriverDescriptor,
  type ProbeResult,
  unavailable,
} from '@tsdocker/core';
import { BridgeDriver } from './bridge-driver.js';
import { type BridgeOptions, parseBridgeOptions } from './options.js';

export { BridgeDriver } from './bridge-driver.js';
export { type BridgeOptions, parseBridgeOptions } from './options.js';

const execFileAsync = promisify(execFile);

async function has(cmd: string, args: string[]): Promise<boolean> {
  return execFileAsync(cmd, args).then(
    () => true,
    () => false,
  );
}

/** Linux, root, iproute2 and util-linux's nsenter; iptables only when it is to be used. */
async function probe(): Promise<ProbeResult> {
  if (process.platform !== 'linux')
    return { supported: false, reason: `bridge networks need Linux, not ${process.platform}` };
  const uid = process.getuid?.();
  if (uid !== 0)
    return { supported: false, reason: `creating bridges and veths needs root (running as uid ${uid})` };
  if (!(await has('ip', ['-V'])))
    return { supported: false, reason: 'the ip command (iproute2) is not installed' };
  if (!(await has('nsenter', ['--version'])))
    return { supported: false, reason: 'nsenter (util-linux) is not installed' };
  return { supported: true };
}

const bridge: NetworkDriverDescriptor<BridgeOptions> = {
  kind: 'network',
  name: 'bridge',
  apiVersion: DRIVER_API_VERSION,
  parseOptions: parseBridgeOptions,
  probe,
  async create(ctx, options) {
    if (options.iptables && !(await has('iptables', ['--version']))) {
      throw unavailable(
        'iptables is not installed: install it (apt-get install iptables), or set "iptables": false in daemon.json',
      );
    }
    return BridgeDriver.open(options, ctx.logger);
  },
};

export default bridge;
