import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import rules of docs/ARCHITECTURE.md, checked from the source: a change that bends the
 * layering fails here with the offending import named, not in a later review.
 */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const MAX_LINES = 450;

interface SourceFile {
  /** Path under src/, with forward slashes. */
  file: string;
  folder: string;
  lines: number;
  /** Paths under src/ of the project files it imports (type-only imports included). */
  imports: string[];
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** The layer a file belongs to: its top folder under src/ (`.` for daemon.ts and friends). */
function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length === 1 ? '.' : parts[0]!;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

function load(): SourceFile[] {
  return walk(SRC).map((full) => {
    const text = readFileSync(full, 'utf8');
    const file = path.relative(SRC, full).split(path.sep).join('/');
    const imports: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      const target = path.relative(SRC, path.resolve(path.dirname(full), spec)).split(path.sep).join('/');
      imports.push(target.replace(/\.js$/, '.ts'));
    }
    return { file, folder: folderOf(file), lines: text.split('\n').length, imports };
  });
}

const files = load();
const edges = files.flatMap((f) => f.imports.map((to) => ({ from: f.file, to, fromFolder: f.folder, toFolder: folderOf(to) })));
const crossing = edges.filter((e) => e.fromFolder !== e.toFolder);

function importsFrom(folder: string, forbidden: string[]): string[] {
  return crossing.filter((e) => e.fromFolder === folder && forbidden.includes(e.toFolder)).map((e) => `${e.from} → ${e.to}`);
}

describe('architecture (docs/ARCHITECTURE.md)', () => {
  it('finds the sources and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(edges.length).toBeGreaterThan(200);
    expect(files.every((f) => f.imports.every((to) => files.some((g) => g.file === to)))).toBe(true);
  });

  it('has no two folders that import each other, nor any longer cycle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of crossing) {
      if (!graph.has(e.fromFolder)) graph.set(e.fromFolder, new Set());
      graph.get(e.fromFolder)!.add(e.toFolder);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (folder: string, trail: string[]): void => {
      if (state.get(folder) === 'done') return;
      if (state.get(folder) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(folder)), folder].join(' → '));
        return;
      }
      state.set(folder, 'open');
      for (const next of graph.get(folder) ?? []) visit(next, [...trail, folder]);
      state.set(folder, 'done');
    };
    for (const folder of graph.keys()) visit(folder, []);
    expect(cycles).toEqual([]);
  });

  it('keeps sync free of everything but the core, the wire format, the content id and file trees', () => {
    expect(importsFrom('sync', allBut(['core', 'wire', 'content', 'files']))).toEqual([]);
  });

  it('lets clipboard import only the core, file lists, and the clip model with its ports', () => {
    const allowed = new Set(['sync/clip.ts', 'sync/ports.ts']);
    const bad = crossing.filter((e) => e.fromFolder === 'clipboard' && e.toFolder !== 'core' && e.toFolder !== 'files' && !allowed.has(e.to));
    expect(bad.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('has only the cli start the daemon: nothing else imports the composition root', () => {
    expect(crossing.filter((e) => e.toFolder === 'daemon' && e.fromFolder !== 'cli').map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('has nothing import the cli', () => {
    expect(crossing.filter((e) => e.toFolder === 'cli').map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });

  it('keeps the ground layers (core, wire, content, files) free of everything above them', () => {
    expect(crossing.filter((e) => e.fromFolder === 'core').map((e) => `${e.from} → ${e.to}`)).toEqual([]);
    expect(importsFrom('wire', allBut(['core']))).toEqual([]);
    expect(importsFrom('content', allBut(['core']))).toEqual([]);
    expect(importsFrom('files', allBut(['core', 'content']))).toEqual([]);
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    expect(files.filter((f) => f.lines > MAX_LINES).map((f) => `${f.file}: ${f.lines}`)).toEqual([]);
  });
});

function allBut(keep: string[]): string[] {
  return [...new Set(files.map((f) => f.folder))].filter((folder) => !keep.includes(folder));
}
