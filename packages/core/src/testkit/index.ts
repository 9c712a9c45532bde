export { HOST_BUSYBOX, makeBusyboxRootfs } from './busybox-rootfs.js';
export { type ExecDriverHarness, execDriverSuite } from './exec-driver-suite.js';
export * from './graph-driver-suite.js';
export * from './network-driver-suite.js';
export { buildTestSpec, randomContainerId, type TestSpecOptions } from './spec-builder.js';
export { buildSyscallProbe } from './syscall-probe.js';
