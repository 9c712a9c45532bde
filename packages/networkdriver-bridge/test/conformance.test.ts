import { networkDriverContext, networkDriverSuite } from '@tsdocker/core/testkit';
import bridge from '../src/index.js';

networkDriverSuite('bridge', async (root, names) => {
  const driver = await bridge.create(
    await networkDriverContext(root, bridge),
    bridge.parseOptions!(names.options),
  );
  return { driver, dispose: () => driver.close() };
});
