// The lint config of the probes in module-boundaries.spec.ts: the root config, with two changes.
// - PROBE_TAGS ({"<project>": ["scope:…", "type:…"]}) overrides projects' tags in the project graph
//   the boundary rule reads, so a probe can ask "what if this lib were in a second context, or of
//   another type" without adding projects to the workspace. It relies on the rule reading its graph
//   once per ESLint run through `ensureGlobalProjectGraph` (an internal of @nx/eslint-plugin: if an
//   upgrade moves it, this import fails and the spec with it).
// - No typed linting: the probes are about imports, and a probe file is not on disk for the
//   TypeScript project service to find.
import { ensureGlobalProjectGraph } from '@nx/eslint-plugin/src/utils/project-graph-utils.js';
import rootConfig from '../../../eslint.config.mjs';

const retags = JSON.parse(process.env.PROBE_TAGS ?? '{}');
if (Object.keys(retags).length > 0) {
  ensureGlobalProjectGraph('enforce-module-boundaries');
  for (const [project, tags] of Object.entries(retags)) {
    const node = globalThis.projectGraph?.nodes[project];
    if (!node) throw new Error(`PROBE_TAGS: no project "${project}" in the cached project graph`);
    node.data.tags = tags;
  }
}

export default [
  ...rootConfig,
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
];
