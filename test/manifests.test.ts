// deploy/kubernetes/*.yaml as a user applies them: every object is valid against the Kubernetes
// API schemas (kubernetes-models), every embedded Fairway config passes the real
// `fairway check`, and the rules that make a rollout or a node drain lose no request hold
// across the objects: probes on the admin server's /healthz and /readyz, a preStop sleep and a
// terminationGracePeriodSeconds consistent with shutdown.drainTimeout, non-root, read-only root
// filesystem with no writable volume, resource requests, pinned images. The rules are one
// function returning problems, so a mutated manifest shows each rule can fail.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import type { IContainer, IPodSpec, IProbe, IService } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfigFile } from '../src/config/load.ts';
import type { Config } from '../src/config/types.ts';
import { ROOT } from './helpers/cli.ts';

const DIR = join(ROOT, 'deploy/kubernetes');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** FAIRWAY_CONFIG as the image sets it (test/dockerfile.test.ts checks the Dockerfile says so). */
const IMAGE_CONFIG_PATH = '/etc/fairway/fairway.yaml';
/** Least preStop sleep covering the endpoint-removal race (kube-proxy, ingress, cloud LB catch-up). */
const ENDPOINT_RACE_S = 5;
/** Time a process needs after its drain to close and exit, on top of the drain itself. */
const EXIT_MARGIN_S = 5;
/** CoreDNS `kubernetes` plugin's default TTL: how stale a headless Service's answer can be. */
const DNS_TTL_S = 5;
/** The namespace `fairway check` pretends the pods run in (the downward API's metadata.namespace). */
const NAMESPACE = 'default';

// ── Loading ─────────────────────────────────────────────────────────────────────────────────

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Manifest {
  file: string;
  obj: KubeObject;
}

/** Schema models by apiVersion/kind: an object of another kind fails until it is added here. */
const MODELS: Record<string, (o: object) => { validate(): void }> = {
  'v1/ConfigMap': (o) => new ConfigMap(o as never),
  'v1/Service': (o) => new Service(o as never),
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
};

function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const f of readdirSync(DIR, { recursive: true }).map(String).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, f), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${f}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj !== null) out.push({ file: f, obj });
    }
  }
  return out;
}

// ── What a pod's containers mean ────────────────────────────────────────────────────────────

interface Pod {
  file: string;
  workload: string;
  labels: Record<string, string>;
  spec: IPodSpec;
}

interface FairwayContainer {
  pod: Pod;
  container: IContainer;
  native: boolean;
  configPath: string;
  configText: string | null;
  /** Environment the container would see, secrets and downward-API fields filled with stand-ins. */
  env: Record<string, string>;
}

function podsOf(set: Manifest[]): Pod[] {
  return set
    .filter((m) => m.obj.kind === 'Deployment')
    .map((m) => {
      const d = m.obj as unknown as IDeployment;
      return { file: m.file, workload: d.metadata!.name!, labels: d.spec!.template.metadata?.labels ?? {}, spec: d.spec!.template.spec! };
    });
}

function allContainers(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

const isFairwayImage = (image: string | undefined): boolean => /(^|\/)fairway(:|@|$)/.test(image ?? '');

/** Stand-in for a Secret's value, recognisable in the normalized config. */
const secretValue = (name: string, key: string): string => `secret-${name}-${key}`;

function containerEnv(c: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = secretValue(e.valueFrom.secretKeyRef.name ?? '', e.valueFrom.secretKeyRef.key);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = NAMESPACE;
    else if (e.valueFrom?.fieldRef) env[e.name] = `field-${e.valueFrom.fieldRef.fieldPath}`;
  }
  return env;
}

function fairwayContainers(set: Manifest[]): FairwayContainer[] {
  const out: FairwayContainer[] = [];
  for (const pod of podsOf(set)) {
    for (const c of allContainers(pod.spec)) {
      if (!isFairwayImage(c.image)) continue;
      const env = containerEnv(c);
      const configPath = env['FAIRWAY_CONFIG'] ?? IMAGE_CONFIG_PATH;
      const mount = (c.volumeMounts ?? []).find((v) => v.mountPath === dirname(configPath));
      const volume = pod.spec.volumes?.find((v) => v.name === mount?.name);
      const cm = set.find((m) => m.obj.kind === 'ConfigMap' && m.obj.metadata.name === volume?.configMap?.name);
      const data = (cm?.obj['data'] ?? {}) as Record<string, string>;
      out.push({ pod, container: c, native: (pod.spec.initContainers ?? []).includes(c), configPath, configText: data[basename(configPath)] ?? null, env });
    }
  }
  return out;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The container port a probe or Service targets: a name in `ports`, or a number. */
function portNumber(ports: IContainer['ports'], target: number | string | undefined): number | null {
  if (typeof target === 'number') return target;
  if (target === undefined) return null;
  if (/^\d+$/.test(target)) return Number(target);
  return ports?.find((p) => p.name === target)?.containerPort ?? null;
}

function httpProbe(c: IContainer, probe: IProbe | undefined): { path: string; port: number | null } | null {
  if (probe?.httpGet === undefined) return null;
  return { path: probe.httpGet.path ?? '/', port: portNumber(c.ports, probe.httpGet.port) };
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

const preStopSleep = (c: IContainer): number => c.lifecycle?.preStop?.sleep?.seconds ?? 0;

// ── The rules ───────────────────────────────────────────────────────────────────────────────

/** Every broken rule, worded for a person; [] when the set is sound. `load` normalizes a config. */
function problems(set: Manifest[], load: (text: string, env: Record<string, string>) => Config): string[] {
  const out: string[] = [];
  const say = (where: string, what: string): void => {
    out.push(`${where}: ${what}`);
  };
  const pods = podsOf(set);
  const services = set.filter((m) => m.obj.kind === 'Service').map((m) => m.obj as unknown as IService);

  for (const m of set) {
    const model = MODELS[`${m.obj.apiVersion}/${m.obj.kind}`];
    if (model === undefined) say(m.file, `${m.obj.apiVersion} ${m.obj.kind} has no schema check here`);
    else {
      try {
        model(m.obj).validate();
      } catch (err) {
        say(`${m.file} ${m.obj.kind}/${m.obj.metadata.name}`, `invalid: ${(err as Error).message}`);
      }
    }
  }

  for (const pod of pods) {
    const at = `${pod.file} ${pod.workload}`;
    const s = pod.spec;
    if (s.securityContext?.runAsNonRoot !== true) say(at, 'pod securityContext.runAsNonRoot must be true');
    if (s.securityContext?.seccompProfile?.type !== 'RuntimeDefault') say(at, 'pod seccompProfile must be RuntimeDefault');
    if (s.automountServiceAccountToken !== false) say(at, 'automountServiceAccountToken must be false (no API access needed)');
    if (s.enableServiceLinks !== false) say(at, 'enableServiceLinks must be false (no <SERVICE>_PORT variables)');
    if (s.terminationGracePeriodSeconds === undefined) say(at, 'terminationGracePeriodSeconds must be set');
    for (const v of s.volumes ?? []) {
      if (v.configMap === undefined && v.secret === undefined && v.projected === undefined && v.downwardAPI === undefined) {
        say(at, `volume ${v.name} is writable storage: the containers must need none`);
      }
    }
    for (const c of allContainers(s)) {
      const cat = `${at}/${c.name}`;
      const image = c.image ?? '';
      const tag = /^[^@]+?(?::([\w][\w.-]*))?(?:@sha256:[0-9a-f]{64})?$/.exec(image);
      if (tag?.[1] === undefined || tag[1] === 'latest') say(cat, `image ${image} must be pinned to a version tag`);
      const sc = c.securityContext;
      if (sc?.allowPrivilegeEscalation !== false) say(cat, 'allowPrivilegeEscalation must be false');
      if (sc?.readOnlyRootFilesystem !== true) say(cat, 'readOnlyRootFilesystem must be true');
      if (sc?.privileged === true) say(cat, 'must not be privileged');
      if (!(sc?.capabilities?.drop ?? []).includes('ALL')) say(cat, 'capabilities must drop ALL');
      const uid = sc?.runAsUser ?? s.securityContext?.runAsUser;
      if (uid === undefined || uid === 0) say(cat, 'needs a non-zero runAsUser (pod or container)');
      if (c.resources?.requests?.['cpu'] === undefined || c.resources?.requests?.['memory'] === undefined) say(cat, 'needs cpu and memory requests');
      if (c.resources?.limits?.['memory'] === undefined) say(cat, 'needs a memory limit');
      for (const vm of c.volumeMounts ?? []) {
        if (vm.readOnly !== true) say(cat, `volumeMount ${vm.mountPath} must be readOnly`);
        if (vm.subPath !== undefined) say(cat, `volumeMount ${vm.mountPath} uses subPath: a ConfigMap update never reaches it`);
      }
      if (c.lifecycle?.preStop !== undefined && c.lifecycle.preStop.sleep === undefined) say(cat, 'preStop must be the sleep action (no binary needed in the image)');
      for (const [kind, probe] of [['liveness', c.livenessProbe], ['readiness', c.readinessProbe], ['startup', c.startupProbe]] as const) {
        const p = httpProbe(c, probe);
        if (probe !== undefined && p !== null && !allContainers(s).some((o) => (o.ports ?? []).some((cp) => cp.containerPort === p.port))) {
          say(cat, `${kind} probe port ${String(probe.httpGet?.port)} is no container port of the pod`);
        }
      }
    }
  }

  for (const fw of fairwayContainers(set)) {
    const c = fw.container;
    const at = `${fw.pod.file} ${fw.pod.workload}/${c.name}`;
    const grace = fw.pod.spec.terminationGracePeriodSeconds ?? 30;
    if (!new RegExp(`:${VERSION.replaceAll('.', '\\.')}$`).test(c.image ?? '')) say(at, `image ${c.image} must be the package version ${VERSION}`);
    if (fw.configText === null) {
      say(at, `${fw.configPath} is not a key of a ConfigMap mounted at ${dirname(fw.configPath)}`);
      continue;
    }
    let config: Config;
    try {
      config = load(fw.configText, fw.env);
    } catch (err) {
      say(at, `embedded config is invalid: ${(err as Error).message}`);
      continue;
    }
    if (!config.watchConfig) say(at, 'config must have watchConfig: true (ConfigMap updates apply without a restart)');
    const admin = config.admin;
    if (admin === null) {
      say(at, 'config needs an admin server (the probes)');
      continue;
    }
    if (!isLoopback(admin.listen.host) && admin.token !== secretValue('fairway-admin', 'token')) {
      say(at, 'admin.token must come from the fairway-admin Secret (secretKeyRef), never a literal');
    }
    const live = httpProbe(c, c.livenessProbe);
    const ready = httpProbe(c, c.readinessProbe);
    if (live?.path !== '/healthz' || live.port !== admin.listen.port) say(at, `liveness must GET /healthz on the admin port ${admin.listen.port}`);
    if (ready?.path !== '/readyz' || ready.port !== admin.listen.port) say(at, `readiness must GET /readyz on the admin port ${admin.listen.port}`);
    if (isLoopback(admin.listen.host)) say(at, 'admin on loopback: the kubelet cannot reach it for the probes');

    const drainS = config.shutdown.drainTimeoutMs / 1000;
    const publicListen = config.listen.filter((l) => !isLoopback(l.host));
    for (const l of publicListen) {
      const port = c.ports?.find((p) => p.containerPort === l.port);
      if (port === undefined) say(at, `listen port ${l.port} is not a containerPort`);
      const targeted = services.some(
        (svc) => selects(svc.spec?.selector, fw.pod.labels) && (svc.spec?.ports ?? []).some((sp) => portNumber(c.ports, sp.targetPort ?? sp.port) === l.port),
      );
      if (!targeted) say(at, `no Service targets listen port ${l.port}`);
    }
    if (fw.native) {
      if (c.restartPolicy !== 'Always') say(at, 'an init container running Fairway must have restartPolicy: Always (native sidecar)');
      const startup = httpProbe(c, c.startupProbe);
      if (startup?.path !== '/readyz') say(at, 'a native sidecar needs a startupProbe on /readyz, so the app starts after it');
      if (publicListen.length > 0) say(at, 'the native-sidecar form is stopped after the app: only for loopback (outbound) listeners');
      if (grace < drainS + EXIT_MARGIN_S) say(at, `terminationGracePeriodSeconds ${grace} < drainTimeout ${drainS} + ${EXIT_MARGIN_S}`);
    } else if (publicListen.length > 0) {
      const sleep = preStopSleep(c);
      if (sleep < ENDPOINT_RACE_S) say(at, `preStop sleep ${sleep}s < ${ENDPOINT_RACE_S}s: the endpoint-removal race drops requests`);
      if (grace < sleep + drainS + EXIT_MARGIN_S) say(at, `terminationGracePeriodSeconds ${grace} < preStop ${sleep} + drainTimeout ${drainS} + ${EXIT_MARGIN_S}`);
      // An app behind Fairway in the same pod must keep serving until Fairway has drained.
      const behind = [...config.pools.values()].some((p) => p.upstreams.some((u) => isLoopback(u.hostname)));
      for (const other of behind ? fw.pod.spec.containers.filter((o) => o !== c) : []) {
        const appSleep = preStopSleep(other);
        if (appSleep < sleep + drainS) say(at, `app container ${other.name}: preStop sleep ${appSleep}s < Fairway's ${sleep}s + drainTimeout ${drainS}s`);
        if (grace < appSleep + EXIT_MARGIN_S) say(at, `terminationGracePeriodSeconds ${grace} < app ${other.name}'s preStop ${appSleep} + ${EXIT_MARGIN_S}`);
      }
    }

    // Upstreams found through a headless Service: it exists, and its pods outlive a stale answer.
    for (const pool of config.pools.values()) {
      for (const u of pool.upstreams) {
        if (u.resolveMs === null) continue;
        const m = new RegExp(`^([a-z0-9-]+)\\.${NAMESPACE}\\.svc\\.cluster\\.local$`).exec(u.hostname);
        const svc = services.find((s) => s.metadata?.name === m?.[1]);
        if (svc === undefined) {
          say(at, `pool ${pool.name}: ${u.hostname} names no Service of these manifests`);
          continue;
        }
        if (svc.spec?.clusterIP !== 'None') say(at, `pool ${pool.name}: Service ${svc.metadata?.name} must be headless (clusterIP: None)`);
        if (!(svc.spec?.ports ?? []).some((p) => p.port === u.port)) say(at, `pool ${pool.name}: Service ${svc.metadata?.name} has no port ${u.port}`);
        const needS = u.resolveMs / 1000 + DNS_TTL_S;
        for (const up of pods.filter((p) => selects(svc.spec?.selector, p.labels))) {
          for (const uc of up.spec.containers) {
            if (preStopSleep(uc) < needS) say(at, `pool ${pool.name}: ${up.workload}/${uc.name} preStop sleep ${preStopSleep(uc)}s < resolve ${u.resolveMs / 1000}s + DNS TTL ${DNS_TTL_S}s`);
          }
        }
      }
    }
  }

  for (const svc of services) {
    const at = `Service/${svc.metadata?.name}`;
    const targets = pods.filter((p) => selects(svc.spec?.selector, p.labels));
    if (targets.length === 0) say(at, 'selects no pod of these manifests');
    for (const sp of svc.spec?.ports ?? []) {
      for (const p of targets) {
        if (!p.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.containerPort === portNumber(c.ports, sp.targetPort ?? sp.port)))) {
          say(at, `port ${sp.name ?? sp.port}: targetPort ${String(sp.targetPort)} is no port of ${p.workload}`);
        }
      }
    }
  }
  for (const m of set.filter((x) => x.obj.kind === 'PodDisruptionBudget')) {
    const sel = (m.obj['spec'] as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels;
    if (!pods.some((p) => selects(sel, p.labels))) say(`PodDisruptionBudget/${m.obj.metadata.name}`, 'selects no pod');
  }
  return out;
}

// ── Tests ───────────────────────────────────────────────────────────────────────────────────

const tmp = mkdtempSync(join(tmpdir(), 'fairway-manifests-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let seq = 0;

/** Normalizes a config exactly as Fairway would, from a file (relative paths, file:line:col). */
function loadText(text: string, env: Record<string, string>): Config {
  const file = join(tmp, `config-${++seq}.yaml`);
  writeFileSync(file, text);
  return loadConfigFile(file, { env });
}

const MANIFESTS = loadManifests();
const mutate = (edit: (set: Manifest[]) => void): Manifest[] => {
  const copy = structuredClone(MANIFESTS);
  edit(copy);
  return copy;
};
const deployment = (set: Manifest[], name: string): IDeployment =>
  set.find((m) => m.obj.kind === 'Deployment' && m.obj.metadata.name === name)!.obj as unknown as IDeployment;
const container = (set: Manifest[], workload: string, name: string): IContainer =>
  allContainers(deployment(set, workload).spec!.template.spec!).find((c) => c.name === name)!;

describe('deploy/kubernetes', () => {
  it('holds a front proxy (ConfigMap, Deployment, Service), a sidecar and the headless Service of its upstreams', () => {
    const kinds = MANIFESTS.map((m) => `${m.obj.kind}/${m.obj.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['ConfigMap/fairway-front', 'Deployment/fairway', 'Service/fairway', 'Service/api', 'Deployment/hello', 'Deployment/caller']));
    const fws = fairwayContainers(MANIFESTS);
    expect(fws.map((f) => `${f.pod.workload}/${f.container.name}${f.native ? ' (native)' : ''}`).sort()).toEqual(['caller/fairway (native)', 'fairway/fairway', 'hello/fairway']);
    // No Secret is shipped: the admin token is created by the user, never committed.
    expect(MANIFESTS.filter((m) => m.obj.kind === 'Secret')).toEqual([]);
  });

  it('breaks none of the rules', () => {
    expect(problems(MANIFESTS, loadText)).toEqual([]);
  });

  const fws = fairwayContainers(MANIFESTS);
  it.each(fws.map((f) => [`${f.pod.file} ${f.pod.workload}/${f.container.name}`, f] as const))('%s: the embedded config passes `fairway check`', (_name, fw) => {
    const file = join(tmp, `${fw.pod.workload}-${basename(fw.configPath)}`);
    writeFileSync(file, fw.configText!);
    // Only the container's own environment (plus PATH): a variable the manifest forgot fails here.
    const out = execFileSync('npx', ['fairway', 'check', '--config', file], { env: { PATH: process.env['PATH']!, ...fw.env }, encoding: 'utf8' });
    expect(out).toMatch(/: OK \(\d+ pools?, \d+ routes?\)/);
  });

  describe('each rule can fail', () => {
    const cases: [string, (set: Manifest[]) => void, RegExp][] = [
      ['no preStop sleep on the front proxy', (s) => void delete container(s, 'fairway', 'fairway').lifecycle, /fairway\/fairway: preStop sleep 0s < 5s/],
      ['a grace period shorter than preStop + drain', (s) => void (deployment(s, 'fairway').spec!.template.spec!.terminationGracePeriodSeconds = 20), /terminationGracePeriodSeconds 20 < preStop 5 \+ drainTimeout 20/],
      ['a sidecar app that stops before Fairway has drained', (s) => void (container(s, 'hello', 'app').lifecycle!.preStop!.sleep!.seconds = 5), /app container app: preStop sleep 5s < Fairway's 5s \+ drainTimeout 10s/],
      ['a writable root filesystem', (s) => void (container(s, 'hello', 'fairway').securityContext!.readOnlyRootFilesystem = false), /hello\/fairway: readOnlyRootFilesystem must be true/],
      ['an emptyDir', (s) => void deployment(s, 'fairway').spec!.template.spec!.volumes!.push({ name: 'tmp', emptyDir: {} }), /volume tmp is writable storage/],
      ['a root user', (s) => void (deployment(s, 'fairway').spec!.template.spec!.securityContext!.runAsUser = 0), /fairway\/fairway: needs a non-zero runAsUser/],
      ['a floating image tag', (s) => void (container(s, 'api', 'api').image = 'hashicorp/http-echo:latest'), /image hashicorp\/http-echo:latest must be pinned/],
      ['another Fairway version', (s) => void (container(s, 'hello', 'fairway').image = 'fairway:0.0.9'), /must be the package version/],
      ['no memory request', (s) => void delete container(s, 'caller', 'app').resources!.requests!['memory'], /caller\/app: needs cpu and memory requests/],
      ['liveness on the data port', (s) => void (container(s, 'fairway', 'fairway').livenessProbe!.httpGet!.port = 'http'), /liveness must GET \/healthz on the admin port 9901/],
      ['a subPath config mount', (s) => void (container(s, 'fairway', 'fairway').volumeMounts![0]!.subPath = 'fairway.yaml'), /uses subPath/],
      ['a literal admin token', (s) => {
        const e = container(s, 'fairway', 'fairway').env!.find((v) => v.name === 'FAIRWAY_ADMIN_TOKEN')!;
        delete e.valueFrom;
        e.value = 'hunter2';
      }, /admin.token must come from the fairway-admin Secret/],
      ['a token variable the container does not set', (s) => {
        const c = container(s, 'hello', 'fairway');
        c.env = c.env!.filter((v) => v.name !== 'FAIRWAY_ADMIN_TOKEN');
      }, /hello\/fairway: embedded config is invalid: [^]*FAIRWAY_ADMIN_TOKEN is not set/],
      ['a native sidecar without a startupProbe', (s) => void delete container(s, 'caller', 'fairway').startupProbe, /needs a startupProbe on \/readyz/],
      ['a headless Service that is not headless', (s) => void delete (s.find((m) => m.obj.metadata.name === 'api' && m.obj.kind === 'Service')!.obj['spec'] as { clusterIP?: string }).clusterIP, /Service api must be headless/],
      ['upstream pods that stop before the DNS answer is stale', (s) => void (container(s, 'api', 'api').lifecycle!.preStop!.sleep!.seconds = 5), /api\/api preStop sleep 5s < resolve 5s \+ DNS TTL 5s/],
      ['a schema violation', (s) => void ((deployment(s, 'fairway').spec as { replicas: unknown }).replicas = 'two'), /Deployment\/fairway: invalid: .*replicas must be integer/],
      ['watchConfig off', (s) => {
        const cm = s.find((m) => m.obj.metadata.name === 'fairway-front')!.obj as unknown as { data: Record<string, string> };
        cm.data['fairway.yaml'] = cm.data['fairway.yaml']!.replace('watchConfig: true', 'watchConfig: false');
      }, /config must have watchConfig: true/],
    ];
    it.each(cases)('%s', (_name, edit, expected) => {
      const found = problems(mutate(edit), loadText);
      expect(found.some((p) => expected.test(p)), found.join('\n')).toBe(true);
    });
  });
});

