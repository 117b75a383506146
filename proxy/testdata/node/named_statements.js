// Drives pgwarp with node-postgres (pg): named prepared statements
// ({name, text, values}) used many times over several connections and a
// pg.Pool, mixed with unnamed, simple and multi-statement queries, errors
// and transactions. It prints what it saw as JSON on stdout; the Go test
// (proxy/node_test.go) checks it. The connection string comes from
// PGWARP_URL, the number of clients from NODE_CLIENTS.
'use strict';

const { Client, Pool } = require('pg');

const url = process.env.PGWARP_URL;
const clients = Number(process.env.NODE_CLIENTS || 6);
const rounds = 40;

async function clientWork(id) {
  const c = new Client({ connectionString: url, application_name: `node-${id}` });
  await c.connect();
  const r = { id, sums: [], mine: [], unnamed: [], multi: [], inserted: 0 };
  try {
    for (let i = 0; i < rounds; i++) {
      const s = await c.query({ name: 'sum', text: 'SELECT $1::int + $2::int AS s', values: [i, id] });
      r.sums.push(s.rows[0].s);
      await c.query({
        name: 'ins',
        text: 'INSERT INTO node_items (client, seq, label, payload) VALUES ($1, $2, $3, $4)',
        values: [id, i, `c${id}-${i}`, i % 4 === 0 ? null : { i, id }],
      });
      r.inserted++;
      // The same name on every connection, with different SQL on each.
      const m = await c.query({ name: 'mine', text: `SELECT $1::text || '@${id}' AS v`, values: [String(i)] });
      r.mine.push(m.rows[0].v);
      const u = await c.query('SELECT $1::text AS t, $2::bool AS b, $3::numeric AS n', [`u${i}`, null, '1.50']);
      r.unnamed.push(u.rows[0]);
      if (i % 10 === 0) {
        const res = await c.query('SELECT 1 AS one; SELECT $$two$$ AS two');
        r.multi.push(res.map((x) => x.rows[0]));
      }
    }
    // A named statement whose execution fails, then used again.
    try {
      await c.query({ name: 'div', text: 'SELECT 10 / $1::int AS q', values: [0] });
    } catch (e) {
      r.divError = e.code;
    }
    r.div = (await c.query({ name: 'div', text: 'SELECT 10 / $1::int AS q', values: [5] })).rows[0].q;
    // A named statement that cannot be prepared at all.
    try {
      await c.query({ name: 'bad', text: 'SELECT * FROM no_such_table WHERE x = $1', values: [1] });
    } catch (e) {
      r.badError = e.code;
    }
    // Named statements inside a transaction that is rolled back.
    await c.query('BEGIN');
    await c.query({
      name: 'ins',
      text: 'INSERT INTO node_items (client, seq, label, payload) VALUES ($1, $2, $3, $4)',
      values: [id, 1000, 'rolled back', null],
    });
    const cnt = { name: 'cnt', text: 'SELECT count(*)::int AS n, count(payload)::int AS p FROM node_items WHERE client = $1', values: [id] };
    r.inTransaction = (await c.query(cnt)).rows[0];
    await c.query('ROLLBACK');
    r.after = (await c.query(cnt)).rows[0];
  } finally {
    await c.end();
  }
  return r;
}

async function poolWork() {
  const pool = new Pool({ connectionString: url, max: 5 });
  try {
    const jobs = [];
    for (let i = 0; i < 200; i++) {
      jobs.push(pool.query({ name: 'square', text: 'SELECT $1::int * $1::int AS sq', values: [i] }).then((res) => res.rows[0].sq));
    }
    const squares = await Promise.all(jobs);
    const pc = await pool.connect();
    let committed;
    try {
      await pc.query('BEGIN');
      await pc.query({ name: 'pool_ins', text: 'INSERT INTO node_items (client, seq, label) VALUES ($1, $2, $3)', values: [-1, 1, 'pool'] });
      await pc.query({ name: 'pool_ins', text: 'INSERT INTO node_items (client, seq, label) VALUES ($1, $2, $3)', values: [-1, 2, 'pool'] });
      await pc.query('COMMIT');
      committed = (await pc.query({ name: 'pool_cnt', text: 'SELECT count(*)::int AS n FROM node_items WHERE client = $1', values: [-1] })).rows[0].n;
    } finally {
      pc.release();
    }
    return { squares, committed };
  } finally {
    await pool.end();
  }
}

async function main() {
  const work = [];
  for (let id = 0; id < clients; id++) work.push(clientWork(id));
  work.push(poolWork());
  const results = await Promise.all(work);
  const pool = results.pop();
  process.stdout.write(JSON.stringify({ clients: results, pool }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`node-postgres failed: ${e.stack || e}\n${e.code ? 'SQLSTATE ' + e.code + '\n' : ''}`);
  process.exit(1);
});
