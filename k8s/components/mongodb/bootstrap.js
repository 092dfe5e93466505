// Brings this mongod into its replica set and keeps its accounts as the Secrets say.
//
// It runs (mongosh --file) as the mongod container's postStart hook on every start, so each step
// is idempotent. The container is not Running, and so never Ready, until this returns; a throw
// makes the kubelet restart the container, and the reason shows in the pod's events. Nothing here
// prints a password or a connection string.
//
// - A fresh member 0 initiates the set and creates the root account through MongoDB's localhost
//   exception (we are on localhost and no account exists yet).
// - A fresh member n asks the primary to add it.
// - A member that restarts with its data waits for nobody: a set that has lost its majority must
//   be able to bring its members back one by one.
// - Then, when a primary answers, the application account is created, or its password and roles
//   are brought up to date (how a password rotation takes effect: k8s/README.md), with a role that
//   adds collMod on its database (how a changed retention reaches a TTL index).

const env = process.env;
const replicaSet = required('MONGODB_REPLICA_SET');
const service = required('MONGODB_SERVICE');
const namespace = required('POD_NAMESPACE');
const pod = required('POD_NAME');
const ordinal = Number(pod.slice(pod.lastIndexOf('-') + 1));
const hostOf = (name) => `${name}.${service}.${namespace}.svc:27017`;
const self = hostOf(pod);
const root = { user: required('MONGODB_ROOT_USERNAME'), pwd: required('MONGODB_ROOT_PASSWORD') };
const ttlRole = 'journeyTtlMaintenance';

const local = waitFor('mongod on localhost', 300, () => connect('mongodb://127.0.0.1:27017/?directConnection=true'));
const localAdmin = local.getDB('admin');

if (!command(localAdmin, { hello: 1 }).setName) {
  if (ordinal === 0) {
    initiate();
  } else {
    join();
  }
  waitFor('the replica set configuration', 300, () => command(localAdmin, { hello: 1 }).setName);
}

const primary = tryWaitFor('a primary', 30, () => connect(setUri()));
if (primary) {
  ensureApplicationAccount(primary.getDB('admin'));
}

function initiate() {
  const initiated = command(localAdmin, { replSetInitiate: { _id: replicaSet, members: [{ _id: 0, host: self }] } });
  if (!initiated.ok && initiated.codeName !== 'AlreadyInitialized') {
    throw new Error(`bootstrap: replSetInitiate failed: ${initiated.codeName}`);
  }
  waitFor('this member to become primary', 120, () => command(localAdmin, { hello: 1 }).isWritablePrimary);
  const created = command(localAdmin, { createUser: root.user, pwd: root.pwd, roles: [{ role: 'root', db: 'admin' }] });
  // Unauthorized: an account exists already, so the localhost exception is over; the root
  // password is checked when the application account is reconciled below.
  if (!created.ok && created.codeName !== 'Unauthorized') {
    throw new Error(`bootstrap: creating the root account failed: ${created.codeName}`);
  }
}

function join() {
  const admin = waitFor('the replica set primary', 300, () => connect(setUri())).getDB('admin');
  const config = command(admin, { replSetGetConfig: 1 }).config;
  if (config.members.some((m) => m.host === self)) {
    return;
  }
  config.members.push({ _id: Math.max(...config.members.map((m) => m._id)) + 1, host: self });
  config.version += 1;
  const result = command(admin, { replSetReconfig: config });
  if (!result.ok) {
    throw new Error(`bootstrap: adding ${self} to ${replicaSet} failed: ${result.codeName}`);
  }
}

function ensureApplicationAccount(admin) {
  const user = required('MONGODB_APP_USERNAME');
  const database = required('MONGODB_DATABASE');
  ensureTtlRole(admin.getSiblingDB(database), database);
  const account = {
    pwd: required('MONGODB_APP_PASSWORD'),
    // Its own database and nothing else: reads, writes, indexes and transactions need readWrite;
    // changing a TTL index's expiry (a changed retention setting) needs collMod, which readWrite
    // lacks, so it comes from a role of its own on that database alone.
    roles: [{ role: 'readWrite', db: database }, { role: ttlRole, db: database }],
  };
  const existing = command(admin, { usersInfo: user });
  if (!existing.ok) {
    throw new Error(`bootstrap: reading accounts failed (${existing.codeName}); does the root password in the Secret match?`);
  }
  const result = existing.users.length === 0
    ? command(admin, { createUser: user, ...account })
    : command(admin, { updateUser: user, ...account });
  if (!result.ok) {
    throw new Error(`bootstrap: writing the application account failed: ${result.codeName}`);
  }
}

// collMod on the service's database and nothing more (the server also checks find, which readWrite
// grants). Created, or brought back to exactly this, on every start.
function ensureTtlRole(db, database) {
  const role = {
    privileges: [{ resource: { db: database, collection: '' }, actions: ['collMod'] }],
    roles: [],
  };
  const existing = command(db, { rolesInfo: ttlRole });
  if (!existing.ok) {
    throw new Error(`bootstrap: reading roles failed: ${existing.codeName}`);
  }
  const result = existing.roles.length === 0
    ? command(db, { createRole: ttlRole, ...role })
    : command(db, { updateRole: ttlRole, ...role });
  if (!result.ok) {
    throw new Error(`bootstrap: writing the ${ttlRole} role failed: ${result.codeName}`);
  }
}

// The replica set through any member as a seed (the driver finds the primary), as root.
function setUri() {
  const seeds = [...new Set([hostOf(`${service}-0`), self])].join(',');
  return `mongodb://${encodeURIComponent(root.user)}:${encodeURIComponent(root.pwd)}@${seeds}/` +
    `?replicaSet=${encodeURIComponent(replicaSet)}&authSource=admin&serverSelectionTimeoutMS=5000`;
}

function connect(uri) {
  const m = new Mongo(uri);
  m.getDB('admin').runCommand({ ping: 1 });
  return m;
}

// mongosh throws for a failed command where the old shell returned { ok: 0 }; both end up here
// as a result with ok and codeName.
function command(db, body) {
  try {
    return db.runCommand(body);
  } catch (e) {
    if (e.codeName === 'AuthenticationFailed') {
      throw new Error('bootstrap: the root account in the Secret is refused by the replica set');
    }
    return { ok: 0, codeName: e.codeName || e.message };
  }
}

function tryWaitFor(what, seconds, probe) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      const result = probe();
      if (result) {
        return result;
      }
    } catch (e) {
      if (/refused by the replica set|Authentication failed/.test(e.message)) {
        throw new Error('bootstrap: the root account in the Secret is refused by the replica set');
      }
    }
    if (Date.now() > deadline) {
      print(`bootstrap: no ${what} within ${seconds} s`);
      return null;
    }
    sleep(1000);
  }
}

function waitFor(what, seconds, probe) {
  const result = tryWaitFor(what, seconds, probe);
  if (!result) {
    throw new Error(`bootstrap: gave up waiting for ${what} after ${seconds} s`);
  }
  return result;
}

function required(name) {
  const value = env[name];
  if (!value) {
    throw new Error(`bootstrap: environment variable ${name} is not set`);
  }
  return value;
}
