// Interop check: the real eureka-js-client (Node) against a tower-eureka server.
//
// Usage: node js_client.js http://127.0.0.1:PORT/eureka
//
// Two instances register (JSON body with a boolean "@enabled", no instanceId: the id falls
// back to hostName, R-01) and heartbeat every 500 ms; a discovery client with deltas on
// sees them; an operator sets one OUT_OF_SERVICE and it stays so through heartbeats; the
// other stops (cancel) and disappears. One line per check; exit 1 on the first failure.
'use strict';
const { Eureka } = require('eureka-js-client');
const http = require('http');

const base = new URL(process.argv[2].replace(/\/$/, '') + '/');
const APP = 'JS-INTEROP';
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
function rest(method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path.replace(/^\//, ''), base), { method }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}
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

  if ((await rest('PUT', `/apps/${APP}/js-host-1/status?value=OUT_OF_SERVICE`)) !== 200) fail('override not 200');
  await waitFor('js-host-1 OUT_OF_SERVICE via deltas', () => byId()['js-host-1'] && byId()['js-host-1'].status === 'OUT_OF_SERVICE');
  await new Promise((r) => setTimeout(r, 2000)); // four heartbeats
  if (byId()['js-host-1'].status !== 'OUT_OF_SERVICE') fail('override lost through heartbeats');
  ok('js-host-1 stays OUT_OF_SERVICE through heartbeats (seen through deltas)');

  await stop(b);
  await waitFor('js-host-2 to disappear', () => !byId()['js-host-2']);
  ok('js-host-2 deregistered and disappeared');

  await stop(a);
  await waitFor('registry empty for the app', () => disc.getInstancesByAppId(APP).length === 0);
  await stop(disc);
  console.log('interop: all checks passed');
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
