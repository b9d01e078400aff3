// What npm's own parser makes of command lines: the oracle for tests/unit/test_npm_argv.py.
//
//   node npm_argv_oracle.cjs NPM_ROOT < lines.json   (a JSON list of argument lists)
//
// Calls nopt exactly as @npmcli/config's loadCLI does (npm's option types and shorthands, with
// npm's type-defs installed), then resolves the command as lib/npm.js does (`--versions`, and
// cmd-list's deref). Prints one JSON object per line: {remain, command, cli}, where cli holds
// the cleaned values of the options ipnpm reads (absent when not set).
const { join } = require('node:path')
const { createRequire } = require('node:module')

const root = process.argv[2]
const npmRequire = createRequire(join(root, 'package.json'))
const configRequire = createRequire(npmRequire.resolve('@npmcli/config/package.json'))
const Config = npmRequire('@npmcli/config')
const { definitions, shorthands } = npmRequire('@npmcli/config/lib/definitions')
const nopt = configRequire('nopt')
const { deref } = npmRequire('./lib/utils/cmd-list.js')

const KEYS = ['loglevel', 'json', 'global', 'prefix', 'workspace', 'workspaces', 'offline',
  'version', 'usage', 'registry', 'userconfig', 'versions']
const { types } = Config.getTypesFromDefinitions(definitions)
const lines = JSON.parse(require('node:fs').readFileSync(0, 'utf8'))
for (const args of lines) {
  const conf = nopt(types, shorthands, [...args], 0)
  const remain = conf.argv.remain
  const words = conf.versions ? ['version'] : [...remain]
  const cli = {}
  for (const key of KEYS) {
    if (Object.hasOwn(conf, key)) cli[key] = conf[key]
  }
  process.stdout.write(JSON.stringify({ remain, command: deref(words[0]) ?? null, cli }) + '\n')
}
