// A dtmv gateway for some devices, with node-postgres (docs/applications.md).
//
// It confirms that its devices are here, carries out their twins' commands
// and runs their twins' syncs with the state each device reports, and no
// other twin's; it reconnects after a lost connection:
//
//   PGUSER=home_gw node gateway.js [--pooler] SERIAL...
//
// The connection comes from the PG* environment variables, as the gateway's
// login (a role in dtmv_gateway, registered by dtmv_admin). --pooler: behind
// PgBouncer in transaction mode (runs live by their lease, no LISTEN).
// The devices are pretend ones (PretendDoor): put your device's protocol there.
'use strict'
const pg = require('pg')

const LEASE_S = Number(process.env.GATEWAY_LEASE || 30) // renewed every third of it
const LEASE = `${LEASE_S} seconds`
const DEVICE_TIMEOUT_MS = 60000 // how long a device may take to answer
const POLL_MS = 1000 // between looks for syncs (commands wake us; sync requests do not)

let stopping = false
let wake = () => {} // ends the current wait
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => { stopping = true; wake() })
const sleep = (ms) => new Promise((resolve) => { wake = resolve; setTimeout(resolve, ms).unref() })

// a stand-in for a door's device, reached by its serial number
class PretendDoor {
  constructor(serial) {
    this.serial = serial
    this.state = { door: 'closed', battery: 87 }
    this.ms = 1000 * Number(process.env.PRETEND_DEVICE_SECONDS || 0) // how slowly it answers
    this.done = new Map() // command id -> result: a command delivered again is not carried out twice
  }

  // its state, or null if it has not answered within waitMs
  async read(started, waitMs) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(waitMs, started + this.ms - Date.now()))))
    return Date.now() >= started + this.ms ? { ...this.state } : null
  }

  act(commandId, action, args) {
    if (!this.done.has(commandId)) {
      const moves = { open: 'open', close: 'closed', lock: 'locked' }
      if (!(action in moves)) throw new Error(`a door cannot ${action}`)
      this.state.door = moves[action]
      this.done.set(commandId, { door: this.state.door })
    }
    return this.done.get(commandId)
  }
}

const failed = (e) => `${e.code}: ${e.message}`

// our devices are here: confirm their bindings pending through this gateway
async function confirm(client, devices) {
  for (const serial of devices.keys()) {
    try {
      const twin = (await client.query('SELECT dtmv.confirm_binding($1) AS twin', [serial])).rows[0].twin
      console.log(`device ${serial} is here: twin ${twin}`)
    } catch (e) {
      if (e.code !== '42704') throw e
      console.log(`device ${serial}: no binding pending (confirmed before, or not bound yet)`)
    }
  }
}

// carry out the commands of our devices' twins, each acknowledged once
async function commands(client, devices) {
  const taken = await client.query(
    "SELECT command_id, action, args, physical_binding FROM dtmv.next_commands(10, '1 minute', $1)", [[...devices.keys()]])
  for (const c of taken.rows) {
    let ok = true
    let result
    try {
      result = devices.get(c.physical_binding).act(c.command_id, c.action, c.args)
    } catch (e) {
      [ok, result] = [false, { error: e.message }]
    }
    try {
      await client.query('SELECT dtmv.ack_command($1, $2, $3)', [c.command_id, ok, JSON.stringify(result)])
      console.log(`command ${c.command_id} ${c.action} on ${c.physical_binding}: ${ok ? 'done' : 'failed'} ${JSON.stringify(result)}`)
    } catch (e) {
      // 55000: acknowledged already; 55P03: another session holds it, it comes again;
      // 42501: the twin is no longer ours
      if (!['55000', '55P03', '42501'].includes(e.code)) throw e
      console.log(`command ${c.command_id}: not acknowledged (${failed(e)})`)
    }
  }
}

// run the syncs of our devices' twins with what each device reports
async function syncs(client, devices, pooler) {
  while (!stopping) {
    const { rows } = await client.query(
      'SELECT c.request_id, c.twin, b.physical_binding FROM dtmv.claim_sync($1, $2, $3) c' +
      '  LEFT JOIN dtmv.served_twins() b ON b.twin = c.twin', [LEASE, !pooler, [...devices.keys()]])
    if (rows.length === 0) return
    const { request_id: request, twin, physical_binding: serial } = rows[0]
    const work = `sync ${request} of twin ${twin} (${serial})`
    const started = Date.now()
    let state = null
    try {
      while (state === null && Date.now() < started + DEVICE_TIMEOUT_MS) {
        state = await devices.get(serial).read(started, (LEASE_S * 1000) / 3)
        if (state === null) { // still working: keep the run
          await client.query('SELECT dtmv.renew_sync($1, $2)', [request, LEASE])
          console.log(`${work}: the device is still working; lease renewed`)
        }
      }
      if (state === null) {
        await client.query('SELECT dtmv.complete_sync($1, false)', [request])
        console.log(`${work} failed: no answer within ${DEVICE_TIMEOUT_MS / 1000} s`)
      } else {
        await client.query('SELECT dtmv.complete_sync($1, true, $2)', [request, JSON.stringify(state)])
        console.log(`${work}: ${JSON.stringify(state)}`)
      }
    } catch (e) {
      // 55000: the run was lost (its lease ended); 42501: the twin is no longer ours
      if (!['55000', '42501'].includes(e.code)) throw e
      console.log(`${work} lost: ${failed(e)}`)
    }
  }
}

// one connection, until it is lost or we stop
async function session(devices, pooler) {
  const client = new pg.Client()
  let lost = null
  client.on('notification', () => wake())
  client.on('error', (e) => { lost = e; wake() }) // our session was ended, the network broke
  client.on('end', () => { lost = lost || new Error('connection ended'); wake() })
  try {
    await client.connect()
    await confirm(client, devices)
    if (!pooler) await client.query('SELECT dtmv.listen()') // a new command wakes us
    console.log(`gateway ready${pooler ? ' (pooler mode)' : ''}`)
    while (!stopping && !lost) {
      await commands(client, devices)
      await syncs(client, devices, pooler)
      if (!stopping && !lost) await sleep(POLL_MS)
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

async function main(args) {
  const pooler = args.includes('--pooler')
  const devices = new Map(args.filter((a) => a !== '--pooler').map((serial) => [serial, new PretendDoor(serial)]))
  while (!stopping) {
    try {
      await session(devices, pooler)
    } catch (e) {
      if (!connectionLost(e)) throw e
      console.log(`connection lost: ${e.message}; reconnecting`)
      await sleep(1000)
    }
  }
}

if (process.argv.length < 3) {
  console.error('usage: node gateway.js [--pooler] SERIAL...')
  process.exit(2)
}
main(process.argv.slice(2)).catch((e) => {
  console.error(`${e.code || ''} ${e.message}`)
  process.exit(1)
})
