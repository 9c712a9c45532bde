import { graphDriverContext, graphDriverSuite } from '@tsdocker/core/testkit';
import overlay2 from '../src/index.js';
import { unmountBelow } from './mount-cleanup.js';

graphDriverSuite('overlay2', async (root) => {
  const driver = await overlay2.create(await graphDriverContext(root, overlay2), {});
  return { driver, dispose: () => driver.cleanup().finally(() => unmountBelow(root)) };
});
