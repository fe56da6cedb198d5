/**
 * The structural shape of maglev.yaml (spec 2.1 stage 1): which keys exist and
 * the type of each value. Unknown keys and wrong types fail here (exit 1);
 * ranges and cross-object rules are checked later (semantic.ts, exit 2).
 * @module
 */

import { errorMessage } from "../errors.ts";
import { z } from "zod";
import { DURATION_FORM, parseDuration } from "./duration.ts";

/** A map that rejects keys it does not know. */
function strictMap<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape).strict();
}

/**
 * A map from operator-chosen names to `value`, as a null-prototype record:
 * zod's own `record` drops a `__proto__` key and a plain object answers
 * `toString`, so names like those would vanish or appear from nowhere.
 */
function nameMap<T extends z.ZodTypeAny>(value: T) {
  const schema = z.any().transform((v: unknown, ctx): Record<string, z.output<T>> => {
    const out: Record<string, z.output<T>> = Object.create(null);
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      ctx.addIssue({
        code: z.ZodIssueCode.invalid_type,
        expected: "object",
        received: v === undefined
          ? "undefined"
          : v === null
          ? "null"
          : Array.isArray(v)
          ? "array"
          : typeof v as "string",
      });
      return out;
    }
    for (const key of Object.keys(v)) {
      const r = value.safeParse((v as Record<string, unknown>)[key]);
      if (r.success) out[key] = r.data;
      else {for (const issue of r.error.issues) {
          ctx.addIssue({ ...issue, path: [key, ...issue.path] });
        }}
    }
    return out;
  });
  nameMapValues.set(schema, value);
  return schema;
}

/** The value schema of each `nameMap`, for `knownKeysAt`. */
const nameMapValues = new WeakMap<z.ZodTypeAny, z.ZodTypeAny>();

/** A Go-style duration string, in milliseconds. */
const duration = z.any().transform((v: unknown, ctx): number => {
  if (typeof v === "number") {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `a bare number is not a duration (${v}); write ${DURATION_FORM}`,
    });
    return 0;
  }
  if (typeof v !== "string") {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `must be a duration string, got ${describe(v)}; write ${DURATION_FORM}`,
    });
    return 0;
  }
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: errorMessage(e) });
    return 0;
  }
});

/** An accepted HTTP status range. */
export interface CodeRange {
  readonly min: number;
  readonly max: number;
}

/** `200` or `"200-399"`. */
const responseCode = z.any().transform((v: unknown, ctx): CodeRange => {
  if (typeof v === "number" && Number.isInteger(v)) return { min: v, max: v };
  if (typeof v === "string") {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v);
    if (m !== null) return { min: Number(m[1]), max: Number(m[2] ?? m[1]) };
  }
  ctx.addIssue({
    code: z.ZodIssueCode.custom,
    message: `must be a status code (200) or a range string ("200-399"), got ${describe(v)}`,
  });
  return { min: 0, max: 0 };
});

/** `auto` or an explicit table length. */
export type RawFlowTableLength = { readonly auto: true } | {
  readonly auto: false;
  readonly value: number;
};

const flowTableLength = z.any().transform((v: unknown, ctx): RawFlowTableLength => {
  if (v === "auto") return { auto: true };
  if (typeof v === "number" && Number.isInteger(v)) return { auto: false, value: v };
  ctx.addIssue({
    code: z.ZodIssueCode.custom,
    message: `must be "auto" or a power of two from 1024 to 32768, got ${describe(v)}`,
  });
  return { auto: true };
});

const int = z.number().int();

/** Every key any health check type may have in `params`; semantic.ts checks which type allows which. */
export const paramsSchema = strictMap({
  path: z.string().optional(),
  host: z.string().optional(),
  "response-code": responseCode.optional(),
  "response-regexp": z.string().optional(),
  ssl: z.boolean().optional(),
  "server-name": z.string().optional(),
  "insecure-skip-verify": z.boolean().optional(),
});

/** The health check kinds of spec 2.4. */
export const HEALTHCHECK_TYPES = ["icmp", "tcp", "http", "https"] as const;

const healthcheckSchema = strictMap({
  type: z.enum(HEALTHCHECK_TYPES),
  port: int.optional(),
  interval: duration.optional(),
  "fast-interval": duration.optional(),
  "down-interval": duration.optional(),
  timeout: duration.optional(),
  rise: int.optional(),
  fall: int.optional(),
  "probe-ipv4-src": z.string().optional(),
  "probe-ipv6-src": z.string().optional(),
  params: paramsSchema.nullable().optional(),
});

const backendSchema = strictMap({
  address: z.string(),
  healthcheck: z.string().optional(),
  enabled: z.boolean().optional(),
  description: z.string().optional(),
});

const poolBackendSchema = strictMap({
  weight: int.optional(),
});

const poolSchema = strictMap({
  name: z.string(),
  // `nginx0: {}` and a bare `nginx0:` both mean the default weight.
  backends: nameMap(poolBackendSchema.nullable()),
});

const frontendSchema = strictMap({
  address: z.string(),
  protocol: z.enum(["tcp", "udp"]),
  port: int,
  description: z.string().optional(),
  pools: z.array(poolSchema),
  "src-ip-sticky": z.boolean().optional(),
  "flush-on-down": z.boolean().optional(),
  "flow-table-length": flowTableLength.optional(),
});

const lbSchema = strictMap({
  "ipv4-src-address": z.string().optional(),
  "ipv6-src-address": z.string().optional(),
  "sticky-buckets-per-core": int.optional(),
  "flow-timeout": duration.optional(),
  "sync-interval": duration.optional(),
  "startup-min-delay": duration.optional(),
  "startup-max-delay": duration.optional(),
});

/** The whole file. */
export const fileSchema = strictMap({
  maglev: strictMap({
    healthchecker: strictMap({
      "transition-history": int.optional(),
      netns: z.string().optional(),
    }).nullable().optional(),
    vpp: strictMap({ lb: lbSchema.nullable().optional() }).nullable().optional(),
    healthchecks: nameMap(healthcheckSchema).nullable().optional(),
    backends: nameMap(backendSchema).nullable().optional(),
    frontends: nameMap(frontendSchema).nullable().optional(),
  }),
});

/** The file after the structural stage, before defaults and semantic rules. */
export type RawFile = z.output<typeof fileSchema>;
/** One raw `healthchecks.<name>` entry. */
export type RawHealthCheck = z.output<typeof healthcheckSchema>;
/** One raw `frontends.<name>` entry. */
export type RawFrontend = z.output<typeof frontendSchema>;

/** A short description of a YAML value for error messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return "an empty value";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return JSON.stringify(v);
  return `${typeof v} ${String(v)}`;
}

/**
 * The keys the map schema at `path` accepts, for "did you mean"; empty when
 * the path does not lead to a fixed-key map.
 */
export function knownKeysAt(path: readonly (string | number)[]): string[] {
  let s: z.ZodTypeAny | undefined = fileSchema;
  for (let i = 0; i <= path.length; i++) {
    s = unwrap(s);
    if (i === path.length) break;
    const seg = path[i];
    if (s instanceof z.ZodObject) s = (s.shape as z.ZodRawShape)[String(seg)];
    else if (s !== undefined && nameMapValues.has(s)) s = nameMapValues.get(s);
    else if (s instanceof z.ZodArray) s = s.element as z.ZodTypeAny;
    else return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unwrap(s: z.ZodTypeAny | undefined): z.ZodTypeAny | undefined {
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
  return s;
}
