// Twin ids and 64-bit ids from node-postgres (npm `pg`), as docs/identity.md
// says: with the default search_path (no SET: as through a transaction
// pooler), ids sent as text in every form uuid input takes, in arrays and
// as 16-byte Buffers, and received as text; what binary results do; event
// ids (bigint) as strings and as BigInt. Run against a throwaway cluster
// (PG* from the environment) by test/run-tests.sh; prints TAP.
'use strict'
const pg = require('pg')

let n = 0
let failed = false
function check(ok, what) {
  n += 1
  console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${what}`)
  if (!ok) failed = true
}
// a check whose query may fail: the failure is the check's, with the message
async function attempt(what, fn) {
  try {
    check(await fn(), what)
  } catch (e) {
    check(false, `${what}: ${e.code || ''} ${e.message}`)
  }
}
// 16 bytes as a uuid's text form
function asUuid(buf) {
  const h = buf.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

async function main() {
  const admin = new pg.Client()
  await admin.connect()
  await admin.query('CREATE EXTENSION IF NOT EXISTS dtmv CASCADE')
  await admin.query('DROP ROLE IF EXISTS node_alice')
  await admin.query('CREATE ROLE node_alice LOGIN IN ROLE dtmv_user')
  await admin.query("SELECT dtmv.create_subject('node_alice', 'node_alice')")
  const twinIdOid = (await admin.query("SELECT 'dtmv.twin_id'::regtype::oid AS oid")).rows[0].oid

  const c = new pg.Client()
  await c.connect()
  await c.query('SET ROLE node_alice')
  const path = (await c.query('SHOW search_path')).rows[0].search_path
  check(path === '"$user", public', `the session's search_path is the default (${path})`)

  // received as text: the canonical form
  const made = await c.query("SELECT dtmv.create_twin('door', 'Front door') AS id")
  const id = made.rows[0].id
  check(typeof id === 'string' && /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/.test(id),
    `create_twin's id arrives as a string in the canonical form (${id})`)
  const other = (await c.query("SELECT dtmv.create_twin('lamp', 'Desk lamp') AS id")).rows[0].id

  // sent as text (node-postgres sends every parameter untyped): every form
  const forms = {
    canonical: id,
    'upper case': id.toUpperCase(),
    'without hyphens': id.replace(/-/g, ''),
    braces: `{${id}}`,
  }
  for (const [form, value] of Object.entries(forms)) {
    await attempt(`WHERE id = $1, the id ${form}`, async () =>
      (await c.query('SELECT name FROM dtmv.twins WHERE id = $1', [value])).rows[0]?.name === 'Front door')
  }
  await attempt('WHERE id = ANY ($1) with a JavaScript array', async () =>
    (await c.query('SELECT count(*)::int AS n FROM dtmv.twins WHERE id = ANY ($1)', [[id, other]])).rows[0].n === 2)
  await attempt('WHERE id IN ($1, $2)', async () =>
    (await c.query('SELECT count(*)::int AS n FROM dtmv.twins WHERE id IN ($1, $2)', [id, other])).rows[0].n === 2)
  await attempt('a join of twin ids, ORDER BY id', async () => {
    const r = await c.query(
      'SELECT r.id FROM dtmv.twins r JOIN dtmv.twin_states s ON r.id = s.twin ORDER BY r.id')
    return r.rows.length === 2 && r.rows[0].id === id && r.rows[1].id === other
  })
  await attempt('WHERE id = $1::uuid', async () =>
    (await c.query('SELECT count(*)::int AS n FROM dtmv.twins WHERE id = $1::uuid', [id])).rows[0].n === 1)
  await attempt('dtmv.twin_info($1): a jsonb result arrives parsed', async () =>
    (await c.query('SELECT dtmv.twin_info($1) AS info', [id])).rows[0].info.name === 'Front door')
  await attempt('dtmv.twin_info(dtmv.create_twin(...)) in one statement', async () =>
    (await c.query("SELECT dtmv.twin_info(dtmv.create_twin('door', 'Back door')) ->> 'name' AS name")).rows[0].name ===
      'Back door')

  // binary: a Buffer of 16 bytes is sent in binary (twin_id's recv)
  const bytes = Buffer.from(id.replace(/-/g, ''), 'hex')
  await attempt('WHERE id = $1 with the 16 bytes as a Buffer (binary parameter)', async () =>
    (await c.query('SELECT name FROM dtmv.twins WHERE id = $1', [bytes])).rows[0]?.name === 'Front door')
  // Received in binary, a twin id is lost: node-postgres (pg 8, pg-protocol)
  // decodes every field as UTF-8 text before any parser sees it, so the 16
  // bytes arrive mangled, even through a binary parser for twin_id's oid.
  // docs/identity.md: keep text results (the default) for twin ids. This
  // check fails the day node-postgres keeps the bytes: then the docs change.
  const types = {
    getTypeParser: (oid, format) =>
      oid === twinIdOid && format === 'binary' ? asUuid : pg.types.getTypeParser(oid, format),
  }
  await attempt('binary results: node-postgres mangles the 16 bytes, even with a binary parser (use text)', async () => {
    const r = await c.query({ text: 'SELECT id FROM dtmv.twins WHERE id = $1', values: [id], binary: true, types })
    return r.rows[0].id !== id
  })

  // 64-bit ids: node-postgres gives a bigint as a string (a JavaScript
  // number is exact only up to 2^53); keep it a string, or make it a BigInt
  const start = (await c.query('SELECT dtmv.event_horizon() AS id')).rows[0].id
  check(typeof start === 'string', `event_horizon() (bigint) arrives as a string (${start})`)
  await attempt('events_since($1) takes the string back', async () =>
    Array.isArray((await c.query('SELECT event_id, id FROM dtmv.events_since($1)', [start])).rows))
  await attempt('events_since($1) takes a BigInt', async () =>
    Array.isArray((await c.query('SELECT event_id FROM dtmv.events_since($1)', [BigInt(start)])).rows))
  const big = '9007199254740993' // 2^53 + 1
  await attempt('a bigint above 2^53 arrives exact as a string; Number() would not keep it', async () => {
    const v = (await c.query('SELECT $1::bigint AS v', [big])).rows[0].v
    return v === big && String(Number(v)) !== big
  })
  await attempt('with a parser for int8 (BigInt), exact as a BigInt', async () => {
    const bigTypes = { getTypeParser: (oid, format) => (oid === 20 ? BigInt : pg.types.getTypeParser(oid, format)) }
    const v = (await c.query({ text: 'SELECT $1::bigint AS v', values: [BigInt(big)], types: bigTypes })).rows[0].v
    return typeof v === 'bigint' && v === BigInt(big)
  })
  await attempt('inside jsonb a bigint is a JSON number: JSON.parse rounds it; ->> keeps it exact', async () => {
    const r = await c.query("SELECT jsonb_build_object('n', $1::bigint) AS j, jsonb_build_object('n', $1::bigint) ->> 'n' AS t", [big])
    return String(r.rows[0].j.n) !== big && r.rows[0].t === big
  })

  // a uuid that is not a twin id: equal to none; a function refuses it
  await attempt('a version 4 uuid matches no twin', async () =>
    (await c.query('SELECT count(*)::int AS n FROM dtmv.twins WHERE id = $1::uuid',
      ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'])).rows[0].n === 0)
  try {
    await c.query('SELECT dtmv.twin_info($1)', ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'])
    check(false, 'twin_info refuses a uuid that is not a twin id')
  } catch (e) {
    check(e.code === '22P02', `twin_info refuses a uuid that is not a twin id (${e.code}: ${e.message})`)
  }

  await c.end()
  await admin.end()
  console.log(`1..${n}`)
  process.exit(failed ? 1 : 0)
}

main().catch((e) => {
  console.log(`not ok ${n + 1} - ${e.stack}`)
  console.log(`1..${n + 1}`)
  process.exit(1)
})
