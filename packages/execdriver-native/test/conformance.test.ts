import { execDriverSuite } from '@tsdocker/core/testkit';
import descriptor from '../src/index.js';
import { tempDriverContext } from './helpers.js';

execDriverSuite('native', async () => {
  const { ctx, remove } = await tempDriverContext();
  const driver = await descriptor.create(ctx, descriptor.parseOptions!({}));
  return {
    driver,
    async dispose() {
      await driver.close();
      await remove();
    },
  };
});
