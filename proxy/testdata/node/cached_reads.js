// Reads through pgwarp's cache with node-postgres (pg), as Drizzle and most
// Node applications send them: queries with values and no name, which pg
// runs through the unnamed statement (Parse, Bind, Describe, Execute, Sync
// in one write). Between rounds it renames one row through a second
// connection; each read must see the latest name. It prints what it read
// as JSON on stdout for the Go test (proxy/node_test.go). The connection
// string comes from PGWARP_URL.
'use strict';

const { Client } = require('pg');

const url = process.env.PGWARP_URL;
const rounds = 20;

async function main() {
  const reader = new Client({ connectionString: url });
  const writer = new Client({ connectionString: url });
  await reader.connect();
  await writer.connect();
  const out = { reads: [], named: [] };
  try {
    for (let i = 0; i < rounds; i++) {
      if (i % 5 === 0) {
        await writer.query('UPDATE node_cached SET label = $1 WHERE id = 1', [`v${i}`]);
      }
      const row = {};
      for (const id of [1, 2]) {
        const r = await reader.query('SELECT label FROM node_cached WHERE id = $1', [id]);
        row[id] = r.rows[0].label;
      }
      out.reads.push(row);
      const n = await reader.query({ name: 'labels', text: 'SELECT count(*)::int AS n FROM node_cached WHERE label <> $1', values: ['x'] });
      out.named.push(n.rows[0].n);
    }
  } finally {
    await reader.end();
    await writer.end();
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
