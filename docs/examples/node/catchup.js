// A dtmv client's catch-up loop, with node-postgres (docs/applications.md).
//
// It prints every event on the twins its user may read, each once and in
// order, and keeps the id of the last one it handled in a file, so that it
// goes on where it stopped after a lost connection or a restart:
//
//   PGHOST=db.example PGUSER=alice PGDATABASE=dtmv node catchup.js last_event_id
//
// The connection comes from the PG* environment variables, as the user
// herself. Needs `npm install pg`. Stop it with SIGTERM or Ctrl-C.
'use strict'
const fs = require('fs')
const pg = require('pg')

const BATCH = 100 // events per call of events_since
const POLL_MS = 5000 // look now and then even without a wake-up (a wake-up is a hint)

let stopping = false
let wake = () => {} // ends the current wait
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => { stopping = true; wake() })

// Event ids are bigint: node-postgres gives them as strings, which we keep
// (a Number is exact only up to 2^53) and pass back as they are.
function load(path) {
  try {
    return fs.readFileSync(path, 'utf8').trim()
  } catch (e) {
    if (e.code === 'ENOENT') return null // the first time
    throw e
  }
}

// keep lastId on disk: written beside the old one, then renamed over it
function save(path, lastId) {
  const fd = fs.openSync(path + '.tmp', 'w')
  fs.writeSync(fd, lastId + '\n')
  fs.fsyncSync(fd)
  fs.closeSync(fd)
  fs.renameSync(path + '.tmp', path)
}

// what the application does with an event: here, print it
function handle(e) {
  console.log(`event ${e.event_id} ${e.kind} ${e.twin} ${JSON.stringify(e.payload)}`)
}

// start from the twins' state: the first time, and after events were pruned
async function resync(client, path) {
  // the horizon first: a change made while we read the state comes again as an event
  const lastId = (await client.query('SELECT dtmv.event_horizon() AS h')).rows[0].h
  const states = await client.query('SELECT twin, reported FROM dtmv.twin_states ORDER BY twin')
  for (const s of states.rows) console.log(`state ${s.twin} ${JSON.stringify(s.reported)}`)
  save(path, lastId)
  return lastId
}

// handle every event after lastId; returns the last one's id
async function catchUp(client, path, lastId) {
  for (;;) {
    const { rows } = await client.query(
      'SELECT event_id, twin, kind, payload FROM dtmv.events_since($1, $2)', [lastId, BATCH])
    for (const e of rows) {
      handle(e)
      save(path, e.event_id)
      lastId = e.event_id
    }
    if (rows.length < BATCH) return lastId
  }
}

// one connection, until it is lost or we stop
async function session(path) {
  const client = new pg.Client()
  let woken = false
  let lost = null
  client.on('notification', () => { woken = true; wake() })
  client.on('error', (e) => { lost = e; wake() }) // our session was ended, the network broke
  client.on('end', () => { lost = lost || new Error('connection ended'); wake() })
  try {
    await client.connect()
    // on every connection: channel names are private and may change
    const channels = await client.query('SELECT dtmv.listen()')
    console.log(`listening on ${channels.rowCount} channel(s)`)
    let lastId = load(path) // where the last connection left off
    if (lastId === null) lastId = await resync(client, path)
    while (!stopping && !lost) {
      woken = false
      try {
        lastId = await catchUp(client, path, lastId)
      } catch (e) {
        if (e.code !== 'TW002') throw e
        console.log(`resync: ${e.message}`)
        lastId = await resync(client, path)
        continue
      }
      if (!woken && !stopping && !lost) { // nothing came in while we read: wait
        await new Promise((resolve) => { wake = resolve; setTimeout(resolve, POLL_MS).unref() })
      }
    }
    if (lost) throw lost
  } finally {
    wake = () => {}
    client.end().catch(() => {})
  }
}

// an error of the connection (lost, refused, ended by the server), not of a statement
function connectionLost(e) {
  return !(e instanceof pg.DatabaseError) || /^(08|57P)/.test(e.code)
}

async function main(path) {
  while (!stopping) {
    try {
      await session(path)
    } catch (e) {
      if (!connectionLost(e)) throw e
      console.log(`connection lost: ${e.message}; reconnecting`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }
}

if (process.argv.length !== 3) {
  console.error('usage: node catchup.js FILE  (where the id of the last event handled is kept)')
  process.exit(2)
}
main(process.argv[2]).catch((e) => {
  console.error(`${e.code || ''} ${e.message}`)
  process.exit(1)
})
