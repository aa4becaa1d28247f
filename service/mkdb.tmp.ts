import { createTestDatabase } from './src/platform/test-database.ts';
const t = await createTestDatabase();
console.log(t.name);
await t.app.end(); await t.owner.end();
