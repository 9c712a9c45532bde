/**
 * @tsdocker/execdriver-native: real Linux containers (namespaces, cgroups, pivot_root) run by a
 * small C shim per process. The default export is the driver descriptor; importing this module
 * has no side effects.
 */
import { DRIVER_API_VERSION, type ExecDriverDescriptor } from '@tsdocker/core';
import { NativeExecDriver } from './native-exec-driver.js';
import { DEFAULT_OPTIONS, type NativeExecDriverOptions, parseOptions } from './options.js';
import { probeMachine } from './probe.js';

const descriptor: ExecDriverDescriptor<NativeExecDriverOptions> = {
  kind: 'exec',
  name: 'native',
  apiVersion: DRIVER_API_VERSION,
  parseOptions,
  probe: () => probeMachine(DEFAULT_OPTIONS),
  create: (ctx, options) => NativeExecDriver.create(ctx, { ...DEFAULT_OPTIONS, ...options }),
};

export default descriptor;
export { NativeExecDriver } from './native-exec-driver.js';
export { type NativeExecDriverOptions, parseOptions } from './options.js';
export { DEFAULT_SHIM_PATH } from './shim-binary.js';
