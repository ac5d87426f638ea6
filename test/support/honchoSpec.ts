/**
 * Honcho's published OpenAPI description (data for checks, never part of the
 * repository): where to find it, and validators for its operations, built
 * with ajv's JSON Schema 2020-12 (the dialect of OpenAPI 3.1).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Where the description may be: `HONCHO_OPENAPI`, then `../shared/honcho/`
 * beside the repository (as a clone at /tmp/ci or /work/main finds it), then
 * /work/shared/honcho/ (from a worktree elsewhere).
 */
export function honchoSpecCandidates(env = process.env): string[] {
  return [
    env.HONCHO_OPENAPI,
    path.resolve(ROOT, '..', 'shared', 'honcho', 'openapi-v3.json'),
    '/work/shared/honcho/openapi-v3.json',
  ].filter((p): p is string => p !== undefined && p !== '');
}

/** The first candidate that exists, or `undefined`. */
export function findHonchoSpec(env = process.env): string | undefined {
  return honchoSpecCandidates(env).find((p) => existsSync(p));
}

interface Operation {
  parameters?: { name: string; in: string; schema: unknown }[];
  requestBody?: { content?: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

/** An operation of the description, found by method and concrete path. */
export interface SpecOperation {
  template: string;
  operation: Operation;
}

/** RFC 3339 date-time, as OpenAPI's `format: date-time` means. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The description, loaded, with validators for schemas inside it. */
export class HonchoSpec {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly doc: { paths: Record<string, Record<string, Operation>> };
  private readonly cache = new Map<unknown, ValidateFunction>();

  constructor(file: string) {
    this.doc = JSON.parse(readFileSync(file, 'utf8'));
    this.ajv.addFormat(
      'date-time',
      (text: string) => DATE_TIME.test(text) && !Number.isNaN(Date.parse(text)),
    );
    this.ajv.addSchema({ ...this.doc, $id: 'honcho' } as object);
  }

  /** The operation for `method` on a concrete `pathname`, or `undefined` if the description has none. */
  operation(method: string, pathname: string): SpecOperation | undefined {
    for (const [template, item] of Object.entries(this.doc.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      const operation = item[method.toLowerCase()];
      if (operation && pattern.test(pathname)) return { template, operation };
    }
    return undefined;
  }

  /** Validates `value` against a schema of the description (which may `$ref` into it); the errors, or `[]`. */
  check(schema: unknown, value: unknown): string[] {
    let validate = this.cache.get(schema);
    if (validate === undefined) {
      validate = this.ajv.compile(rebase(schema) as object);
      this.cache.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  }
}

/** `#/components/…` refs of a schema taken out of the document point back into it. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#')
        ? `honcho${value}`
        : rebase(value),
    ]),
  );
}
