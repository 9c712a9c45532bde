import { graphDriverContext, graphDriverSuite } from '@tsdocker/core/testkit';
import vfs from '../src/index.js';

graphDriverSuite('vfs', async (root) => {
  const driver = await vfs.create(await graphDriverContext(root, vfs), {});
  return { driver, dispose: () => driver.cleanup() };
});
