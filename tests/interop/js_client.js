// Interop check: the real eureka-js-client (Node) against a tower-eureka server.
//
// Usage: node js_client.js PROXY_URL DIRECT_URL
//
// The clients talk through PROXY_URL, a counting proxy (see proxy.rs) whose /__counts says
// what crossed the wire and what was answered; checks read the server at DIRECT_URL.
//
// Two instances register (JSON body with a boolean "@enabled", no instanceId: the id falls
// back to hostName, R-01) with 2 s leases and heartbeat every 500 ms; a discovery client
// with deltas on sees them; an operator sets one OUT_OF_SERVICE and it stays so through
// heartbeats, past its lease, which only heartbeats (answered 200, no re-registration) can
// keep alive; the discovery client follows by JSON deltas with no second full fetch; the
// other stops (cancel) and disappears; the first crashes (heartbeats stop, no cancel) and
// its lease expires. One line per check; exit 1 on the first failure.
'use strict';
const { Eureka } = require('eureka-js-client');
const http = require('http');

const base = new URL(process.argv[2].replace(/\/$/, '') + '/');
const direct = new URL(process.argv[3].replace(/\/$/, '') + '/');
const APP = 'JS-INTEROP';
const LEASE_SECS = 2;
const quiet = { warn() {}, info() {}, debug() {}, error() {}, level() {} };

function fail(msg) {
  console.log(`FAIL: ${msg}`);
  process.exit(1);
}
function ok(msg) {
  console.log(`ok: ${msg}`);
}

function eurekaCfg(extra) {
  return Object.assign({
    host: base.hostname,
    port: Number(base.port),
    servicePath: base.pathname + 'apps/',
    heartbeatInterval: 500,
    registryFetchInterval: 500,
    maxRetries: 0,
  }, extra);
}

function eureka(config) {
  return new Eureka(Object.assign({ logger: quiet }, config));
}

function instance(n, port) {
  return eureka({
    instance: {
      app: 'js-interop',
      hostName: `js-host-${n}`,
      ipAddr: `127.0.1.${n}`,
      statusPageUrl: `http://js-host-${n}:${port}/info`,
      port: { '$': port, '@enabled': true },
      vipAddress: 'js-interop',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      metadata: { zone: `z${n}` },
      leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: LEASE_SECS },
    },
    eureka: eurekaCfg({ fetchRegistry: false }),
  });
}

function start(client) {
  return new Promise((resolve, reject) => client.start((err) => (err ? reject(err) : resolve())));
}
function stop(client) {
  return new Promise((resolve) => client.stop(() => resolve()));
}
function request(method, url) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ code: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
// REST calls go straight to the server, not through the counting proxy.
async function rest(method, path) {
  return (await request(method, new URL(path.replace(/^\//, ''), direct))).code;
}
// What crossed the proxy: {"heartbeat JS-INTEROP/js-host-1 200": n, ...}.
async function counts() {
  return JSON.parse((await request('GET', new URL('/__counts', base))).body);
}
async function count(prefix, status) {
  const c = await counts();
  return Object.entries(c)
    .filter(([k]) => k.startsWith(prefix + ' ') && (status === undefined || k.endsWith(` ${status}`)))
    .reduce((n, [, v]) => n + v, 0);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, pred, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = pred();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`timed out waiting for ${what}`);
}

async function main() {
  const a = instance(1, 19081);
  const b = instance(2, 19082);
  await start(a);
  await start(b);
  ok('two eureka-js-client instances registered (204) and heartbeat every 500 ms');

  const disc = eureka({ shouldUseDelta: true, eureka: eurekaCfg({ registerWithEureka: false, filterUpInstances: false }) });
  await start(disc);
  const byId = () => Object.fromEntries(disc.getInstancesByAppId(APP).map((i) => [i.hostName, i]));

  const both = await waitFor('both instances UP', () => {
    const s = byId();
    return s['js-host-1'] && s['js-host-2'] && s['js-host-1'].status === 'UP' && s['js-host-2'].status === 'UP' ? s : null;
  });
  const i1 = both['js-host-1'];
  if (i1.ipAddr !== '127.0.1.1' || i1.port.$ !== 19081 || i1.port['@enabled'] !== 'true') fail(`wrong address ${JSON.stringify(i1.port)} ${i1.ipAddr}`);
  if (i1.metadata.zone !== 'z1') fail(`wrong metadata ${JSON.stringify(i1.metadata)}`);
  if (disc.getInstancesByVipAddress('js-interop').length !== 2) fail('VIP lookup does not see both');
  ok('discovery (JSON) sees both with ip, port, status UP, metadata; VIP lookup agrees');

  const full0 = await count('full -');
  const delta0 = await count('delta -', 200);
  if (full0 < 1) fail(`the discovery client made no full fetch through the proxy: ${JSON.stringify(await counts())}`);
  const hb0 = await count(`heartbeat ${APP}/js-host-1`, 200);
  const reg0 = await count(`register ${APP}/js-host-1`);
  if ((await rest('PUT', `/apps/${APP}/js-host-1/status?value=OUT_OF_SERVICE`)) !== 200) fail('override not 200');
  await waitFor('js-host-1 OUT_OF_SERVICE via deltas', () => byId()['js-host-1'] && byId()['js-host-1'].status === 'OUT_OF_SERVICE');
  // Past a whole lease: only heartbeats can keep js-host-1 registered now.
  await sleep(LEASE_SECS * 1000 + 1000);
  if ((await rest('GET', `/apps/${APP}/js-host-1`)) !== 200) fail(`js-host-1 expired although it heartbeats: ${JSON.stringify(await counts())}`);
  if (byId()['js-host-1'].status !== 'OUT_OF_SERVICE') fail('override lost through heartbeats');
  const beats = (await count(`heartbeat ${APP}/js-host-1`, 200)) - hb0;
  if (beats < 2 * LEASE_SECS) fail(`only ${beats} heartbeats from js-host-1 answered 200: ${JSON.stringify(await counts())}`);
  const failed = Object.entries(await counts()).filter(([k]) => k.startsWith('heartbeat ') && !k.endsWith(' 200'));
  if (failed.length) fail(`heartbeats answered other than 200: ${JSON.stringify(failed)}`);
  if ((await count(`register ${APP}/js-host-1`)) !== reg0) fail('js-host-1 re-registered instead of renewing');
  ok(`js-host-1 stays OUT_OF_SERVICE past its ${LEASE_SECS} s lease on ${beats} heartbeats (all 200, no re-registration), seen through deltas`);

  await stop(b);
  await waitFor('js-host-2 to disappear', () => !byId()['js-host-2']);
  if ((await count(`cancel ${APP}/js-host-2`, 200)) !== 1) fail(`js-host-2 left without one answered cancel: ${JSON.stringify(await counts())}`);
  ok('js-host-2 deregistered (cancel 200) and disappeared');

  const full = (await count('full -')) - full0;
  const deltas = (await count('delta -', 200)) - delta0;
  if (full !== 0 || deltas < 3) fail(`expected only JSON deltas after the first full fetch, got ${full} full and ${deltas} deltas`);
  ok(`the discovery client used ${deltas} JSON deltas and no second full fetch`);

  // A crash: the heartbeats stop without a cancel, and the 2 s lease really ends.
  clearInterval(a.heartbeat);
  const t0 = Date.now();
  await waitFor('js-host-1 to expire after a crash', () => disc.getInstancesByAppId(APP).length === 0);
  if ((await count(`cancel ${APP}/js-host-1`)) !== 0) fail('js-host-1 sent a cancel; the crash was not a crash');
  ok(`js-host-1 crashed and its lease expired after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  clearInterval(a.registryFetch);
  await stop(disc);
  console.log('interop: all checks passed');
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
