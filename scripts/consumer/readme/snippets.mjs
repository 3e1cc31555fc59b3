// The README's TypeScript, checked by the consumer test: every ```ts block of README.md is
// either a whole file, a fragment placed into a wrapper (which declares what the fragment
// leaves out), or skipped with a reason; `blocks.mjs` says which, block by block. A block no
// entry claims fails the test, and so does an entry that claims no block. The blocks are
// written into one app (the packed library and what the snippets import installed), compiled
// by one `tsc` run, and the Testing section's specs are run by Vitest.
//
// Lines that end in `// compile error...` must fail to compile (the README shows the error
// on purpose); every other line must compile. Errors are reported at their README line. A
// block known to be wrong whose fix is pending carries `broken: 'why'`: its errors are
// printed without failing the test, and the test fails once it compiles (drop the mark then).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Fence languages taken for TypeScript. */
const TS_FENCES = new Set(['ts', 'typescript', 'mts', 'cts']);
const EXPECT_ERROR = /\/\/\s*compile error\b/;

/**
 * The fenced blocks of a Markdown text, with the section (nearest heading outside a fence)
 * each is in, its language and its lines with their 1-based line numbers in the file.
 */
export function fencedBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let section = '';
  let open;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (open) {
      const trimmed = line.trim();
      if (trimmed.startsWith(open.fence) && trimmed.slice(open.fence.length) === '') {
        blocks.push(open.block);
        open = undefined;
      } else {
        open.block.lines.push({ text: line, readmeLine: i + 1 });
      }
      continue;
    }
    // Indented fences too (in list items).
    const fence = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (fence) {
      const block = { section, lang: fence[2].toLowerCase(), startLine: i + 1, lines: [] };
      open = { fence: fence[1], block };
      continue;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) section = heading[1];
  }
  if (open) throw new Error(`README.md:${open.block.startLine}: fence never closed`);
  return blocks;
}

/** The TypeScript blocks. */
export function tsBlocks(markdown) {
  return fencedBlocks(markdown).filter((b) => TS_FENCES.has(b.lang));
}

/**
 * Pairs each TypeScript block with its entry of `blocks.mjs`. Returns the pairs and the
 * problems: blocks no entry claims, entries that claim no block or several.
 */
export function planBlocks(blocks, entries) {
  const problems = [];
  const claimed = new Map();
  for (const entry of entries) {
    const kinds = ['file', 'wrap', 'skip'].filter((k) => entry[k] !== undefined);
    if (kinds.length !== 1) {
      problems.push(`entry ${JSON.stringify(entry)}: give exactly one of file, wrap or skip`);
      continue;
    }
    if (entry.skip !== undefined && !String(entry.skip).trim()) {
      problems.push(`entry ${JSON.stringify(entry)}: a skipped block needs its reason`);
      continue;
    }
    if (entry.broken !== undefined && (entry.skip !== undefined || !String(entry.broken).trim())) {
      problems.push(
        `entry ${JSON.stringify(entry)}: \`broken\` needs a reason and a compiled block`,
      );
      continue;
    }
    const matches = blocks.filter(
      (b) => b.section === entry.section && b.lines.some((l) => l.text.includes(entry.match)),
    );
    if (matches.length !== 1) {
      problems.push(
        `entry in "${entry.section}" matching "${entry.match}" claims ${matches.length} blocks (want 1)`,
      );
      continue;
    }
    const [block] = matches;
    if (claimed.has(block)) {
      problems.push(`README.md:${block.startLine}: claimed by two entries`);
      continue;
    }
    claimed.set(block, entry);
  }
  for (const block of blocks) {
    if (!claimed.has(block)) {
      const first = block.lines.find((l) => l.text.trim())?.text.trim() ?? '';
      problems.push(
        `README.md:${block.startLine} (section "${block.section}", "${first.slice(0, 60)}") is ` +
          'neither compiled nor exempted: add it to scripts/consumer/readme/blocks.mjs',
      );
    }
  }
  const pairs = blocks
    .filter((b) => claimed.has(b))
    .map((b) => ({ block: b, entry: claimed.get(b) }));
  return { pairs, problems };
}

/** `1-11` / `4` / `` (all) to the 1-based block line numbers it names. */
function lineRange(spec, count) {
  if (!spec) return Array.from({ length: count }, (_, i) => i + 1);
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw new Error(`bad line range "${spec}"`);
  const from = Number(m[1]);
  const to = Number(m[2] ?? m[1]);
  if (from < 1 || to > count || from > to) throw new Error(`line range ${spec} outside 1-${count}`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * The generated file of a block: its own lines (a whole file), or the wrapper's with each
 * `// @readme [from-to]` marker replaced by those lines of the block. Every block line must be
 * placed exactly once. Returns the lines, each with its README line (undefined for wrapper lines).
 */
export function composeFile(block, wrapperText) {
  if (wrapperText === undefined) return block.lines.map((l) => ({ ...l }));
  const out = [];
  const used = new Map();
  for (const line of wrapperText.split('\n')) {
    const marker = /^\s*\/\/ @readme(?:\s+(\S+))?\s*$/.exec(line);
    if (!marker) {
      out.push({ text: line, readmeLine: undefined });
      continue;
    }
    for (const n of lineRange(marker[1], block.lines.length)) {
      used.set(n, (used.get(n) ?? 0) + 1);
      out.push({ ...block.lines[n - 1] });
    }
  }
  const wrong = block.lines
    .map((_, i) => i + 1)
    .filter((n) => used.get(n) !== 1)
    .map((n) => `${n} (${used.get(n) ?? 0}x)`);
  if (wrong.length > 0) {
    throw new Error(
      `README.md:${block.startLine}: the wrapper places block lines ${wrong} not once`,
    );
  }
  return out;
}

/**
 * Writes every block that is compiled into `srcDir`: whole files as `<file>`, wrapped
 * fragments as `readme-wrapped/<wrap>.ts`. Returns the groups (one per README section) and
 * the line maps of the generated files, keyed by their path relative to the app.
 */
export async function writeBlocks(pairs, { appDir, wrapDir }) {
  const groups = new Map();
  const maps = new Map();
  for (const { block, entry } of pairs) {
    const group = groups.get(block.section) ?? { section: block.section, blocks: [] };
    groups.set(block.section, group);
    if (entry.skip !== undefined) {
      group.blocks.push({ block, entry, status: 'skipped' });
      continue;
    }
    const rel =
      entry.file !== undefined ? `src/${entry.file}` : `src/readme-wrapped/${entry.wrap}.ts`;
    const wrapper =
      entry.wrap !== undefined
        ? await readFile(join(wrapDir, `${entry.wrap}.ts`), 'utf8')
        : undefined;
    const lines = composeFile(block, wrapper);
    if (maps.has(rel)) throw new Error(`two blocks write ${rel}`);
    maps.set(rel, { block, entry, lines });
    await mkdir(dirname(join(appDir, rel)), { recursive: true });
    await writeFile(join(appDir, rel), lines.map((l) => l.text).join('\n') + '\n');
    group.blocks.push({ block, entry, rel, status: 'compiled' });
  }
  return { groups: [...groups.values()], maps };
}

/** `tsc --pretty false` output to diagnostics: file, line, code, message (with continuation lines). */
export function parseDiagnostics(output) {
  const diagnostics = [];
  for (const line of output.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/.exec(line);
    if (m) diagnostics.push({ file: m[1], line: Number(m[2]), code: m[5], message: m[6] });
    else if (/^\s+\S/.test(line) && diagnostics.length > 0)
      diagnostics.at(-1).message += ` ${line.trim()}`;
    else if (/error TS\d+:/.test(line))
      diagnostics.push({ file: '', line: 0, code: '', message: line });
  }
  return diagnostics;
}

/**
 * Checks the compiler's diagnostics against the blocks: every error on a README line not
 * marked `// compile error`, in a wrapper line or outside the generated files is a failure;
 * so is a marked line without an error. Returns failures per generated file and the others.
 */
export function judgeDiagnostics(diagnostics, maps) {
  const byFile = new Map([...maps.keys()].map((rel) => [rel, { failures: [], expected: 0 }]));
  const elsewhere = [];
  const hit = new Set();
  for (const d of diagnostics) {
    const rel = d.file.replaceAll('\\', '/');
    const map = maps.get(rel);
    if (!map) {
      elsewhere.push(`${d.file}(${d.line}): ${d.code} ${d.message}`);
      continue;
    }
    const line = map.lines[d.line - 1];
    const where = line?.readmeLine
      ? `README.md:${line.readmeLine}`
      : `${rel}:${d.line} (wrapper scripts/consumer/readme/wrap/${map.entry.wrap}.ts)`;
    if (line?.readmeLine && EXPECT_ERROR.test(line.text)) {
      hit.add(`${rel}:${d.line}`);
      continue;
    }
    const message = d.message.length > 300 ? `${d.message.slice(0, 300)}...` : d.message;
    byFile.get(rel).failures.push(`${where}: ${d.code} ${message}`);
  }
  for (const [rel, map] of maps) {
    map.lines.forEach((line, i) => {
      if (!line.readmeLine || !EXPECT_ERROR.test(line.text)) return;
      byFile.get(rel).expected++;
      if (!hit.has(`${rel}:${i + 1}`)) {
        byFile
          .get(rel)
          .failures.push(`README.md:${line.readmeLine}: marked "compile error" but compiles`);
      }
    });
  }
  return { byFile, elsewhere };
}

/**
 * One line per group (README section): what was compiled, skipped, known broken, and the
 * errors that fail the test. Returns the lines and the number of failures.
 */
export function summarizeGroups(groups, { byFile, elsewhere }) {
  const lines = [];
  let failures = elsewhere.length;
  for (const group of groups) {
    const compiled = group.blocks.filter((b) => b.status === 'compiled');
    const skipped = group.blocks.filter((b) => b.status === 'skipped');
    const errors = [];
    const known = [];
    let expected = 0;
    for (const b of compiled) {
      const { failures: found, expected: marked } = byFile.get(b.rel);
      expected += marked;
      if (b.entry.broken === undefined) errors.push(...found);
      else if (found.length > 0) known.push(...found.map((f) => `${f} [known: ${b.entry.broken}]`));
      else
        errors.push(`README.md:${b.block.startLine} compiles now: drop \`broken\` in blocks.mjs`);
    }
    failures += errors.length;
    const names = compiled.map((b) => b.entry.file ?? `${b.entry.wrap} (wrapped)`);
    const what = [
      `${compiled.length} compiled: ${names.join(', ')}`,
      expected > 0 ? `${expected} lines marked "compile error" fail as shown` : '',
      known.length > 0 ? `${known.length} KNOWN errors` : '',
      skipped.length > 0 ? `${skipped.length} skipped (${skipped.map((b) => b.entry.skip)})` : '',
    ].filter(Boolean);
    const details = [...errors, ...known].map((e) => `\n    ${e}`).join('');
    lines.push(
      `[consumer] readme ${errors.length ? 'FAIL' : 'ok  '} ${group.section.padEnd(26)} ${what.join('; ')}${details}`,
    );
  }
  if (elsewhere.length > 0) {
    lines.push(`[consumer] readme FAIL other files:${elsewhere.map((e) => `\n    ${e}`).join('')}`);
  }
  return { lines, failures };
}
