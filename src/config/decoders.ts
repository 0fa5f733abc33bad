import { readFileSync } from "node:fs";
import { type Static, Type as T, type TSchema } from "@sinclair/typebox";
import { type ClusterSeeds, describeSeeds, parseClusterSeeds } from "../adapters/store/redis/seeds";
import { LIMITS_PATTERN, parseLimits, type Window } from "../domain/rate-window";
import { BUDGETS_PATTERN, parseBudgets, type SendBudget } from "../domain/send-budget";
import { parseTestNumbers, type TestNumber } from "../domain/test-numbers";
import { DURATION_PATTERN, formatDuration, parseDuration } from "../lib/duration";
import { splitList } from "../lib/split-list";

/** The building blocks of the environment schema (src/config/schema.ts): each decodes its own text. */
/** A setting that decodes its text into the value the gateway uses; a decoder throws what it expected. */
export const decoded = <S extends TSchema, D>(
  schema: S,
  decode: (text: Static<S>) => D,
  encode: (value: D) => Static<S>,
) => T.Transform(schema).Decode(decode).Encode(encode);

export const Duration = (fallback: string, description: string) =>
  decoded(
    T.String({
      pattern: DURATION_PATTERN,
      default: fallback,
      description,
      examples: ["500ms", "30s", "10m", "24h"],
    }),
    (text): number => {
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) throw new Error("a positive duration");
      return ms;
    },
    formatDuration,
  );
/** A positive duration, or `off` (undefined). */
export const DurationOrOff = (fallback: string, description: string) =>
  decoded(
    T.String({
      pattern: `^off$|${DURATION_PATTERN}`,
      expected: "a duration such as 30s, 10m, 24h or 30d, or off",
      default: fallback,
      description,
      examples: ["off", "7d", "30d"],
    }),
    (text): number | undefined => {
      if (text === "off") return undefined;
      const ms = parseDuration(text);
      if (ms === undefined || ms <= 0) throw new Error("a positive duration, or off");
      return ms;
    },
    (ms) => (ms === undefined ? "off" : formatDuration(ms)),
  );
export const Limits = (fallback: string, description: string) =>
  decoded(
    T.String({
      pattern: LIMITS_PATTERN,
      expected: "count/duration pairs, comma-separated, e.g. 5/1m,50/1h (count 1 to 10000)",
      default: fallback,
      description: `${description} Format: count/duration, comma-separated.`,
    }),
    (text): Window[] => {
      const windows = parseLimits(text);
      if (!windows) throw new Error("count/duration pairs such as 1/1m,3/10m (count 1 to 10000)");
      return windows;
    },
    (windows) => windows.map((w) => w.label).join(","),
  );
/** Like Limits, or `off`: a tier an operator may switch off, by saying so. */
export const OptionalLimits = (fallback: string, description: string) =>
  decoded(
    T.String({
      pattern: `^off$|${LIMITS_PATTERN}`,
      expected: "count/duration pairs, comma-separated, e.g. 5/1m,50/1h (count 1 to 10000), or off",
      default: fallback,
      description: `${description} Format: count/duration, comma-separated, or \`off\`.`,
    }),
    (text): Window[] | undefined => {
      if (text === "off") return undefined;
      const windows = parseLimits(text);
      if (!windows) throw new Error("count/duration pairs such as 1/1m,3/10m (count 1 to 10000), or off");
      return windows;
    },
    (windows) => (windows ? windows.map((w) => w.label).join(",") : "off"),
  );
/** `IN=0.25,*=0.25`: an estimated price per SMS by country, `*` for the rest. */
export const PRICES_PATTERN =
  "^\\s*(\\*|[A-Za-z]{2})=[0-9]+(\\.[0-9]+)?(\\s*,\\s*(\\*|[A-Za-z]{2})=[0-9]+(\\.[0-9]+)?)*\\s*$";
export const List = (description: string, pattern?: { pattern: string; expected: string }) =>
  decoded(T.String({ default: "", description, ...pattern }), splitList, (list) => list.join(","));
export const Int = (fallback: number, minimum: number, maximum: number, description: string) =>
  T.Integer({ minimum, maximum, default: fallback, description });
export const OneOf = <const V extends string>(values: readonly V[], fallback: V, description: string) =>
  T.Union(
    values.map((v) => T.Literal(v)),
    { default: fallback, description },
  );

/** Redis Cluster seeds (adapters/store/redis/seeds.ts): `host:port` or `rediss://user:password@host:port`, comma-separated. */
export const ClusterNodes = (description: string) =>
  decoded(
    T.String({ default: "", description }),
    (text): ClusterSeeds => {
      const seeds = parseClusterSeeds(text);
      if (typeof seeds === "string") throw new Error(seeds);
      return seeds;
    },
    (seeds) => describeSeeds(seeds),
  );

/** A path to a PEM file of certificates, read once at start; its contents, or undefined when unset. */
export const PemFile = (description: string) =>
  decoded(
    T.String({ default: "", description }),
    (path): string | undefined => {
      if (!path) return undefined;
      try {
        const pem = readFileSync(path, "utf8");
        if (pem.includes("-----BEGIN CERTIFICATE-----")) return pem;
      } catch {}
      throw new Error("a readable PEM file of CA certificates");
    },
    () => "",
  );

/** `true` or `false`. */
export const Flag = (fallback: boolean, description: string) =>
  decoded(
    OneOf(["true", "false"], fallback ? "true" : "false", description),
    (text) => text === "true",
    (flag) => (flag ? "true" : "false"),
  );

/** Send budgets (domain/send-budget.ts): `scope=count/duration`, comma-separated, or `off`. */
export const Budgets = (fallback: string, description: string) =>
  decoded(
    T.String({
      pattern: BUDGETS_PATTERN,
      expected:
        "scope=count/duration, comma-separated, e.g. *=1000/1h,IN=500/1h (scope * or a country code), or off",
      default: fallback,
      description,
    }),
    (text): SendBudget[] => {
      const budgets = parseBudgets(text);
      if (!budgets) {
        throw new Error(
          "scope=count/duration entries such as *=20000/24h,IN=5000/1h (count 1 to 100000000, 1s or longer), or off",
        );
      }
      return budgets;
    },
    (budgets) =>
      budgets.length === 0
        ? "off"
        : budgets.flatMap((b) => b.windows.map((w) => `${b.scope}=${w.label}`)).join(","),
  );

/** Prices by country: `IN=0.25,*=0.25`. */
export const Prices = (fallback: string, description: string) =>
  decoded(
    T.String({
      pattern: PRICES_PATTERN,
      expected: "country=price, comma-separated, e.g. IN=0.25,*=0.30 (* for every other country)",
      default: fallback,
      description,
    }),
    (text): Map<string, number> =>
      new Map(
        splitList(text).map((entry) => {
          const [scope, price] = entry.split("=") as [string, string];
          return [scope.toUpperCase(), Number(price)];
        }),
      ),
    (prices) => [...prices].map(([scope, price]) => `${scope}=${price}`).join(","),
  );

/** Test numbers (domain/test-numbers.ts). */
export const TestNumberList = (description: string) =>
  decoded(
    T.String({ default: "", description }),
    (text): Map<string, TestNumber> => {
      const phones = parseTestNumbers(text);
      if (typeof phones === "string") throw new Error(phones);
      return phones;
    },
    (phones) => [...phones.keys()].map((phone) => `${phone}:******`).join(","),
  );

/** A `redis://` or `rediss://` URL that parses (ioredis would throw on start, printing it); empty: unset. */
export const RedisUrl = (description: string) =>
  decoded(
    T.String({
      pattern: "^$|^rediss?://",
      expected:
        "a redis:// or rediss:// URL, its path a database number if any, e.g. rediss://user:password@host:6379/0",
      default: "",
      description,
    }),
    (text): string => {
      if (text === "") return text;
      try {
        // ioredis reads the path as the database number: anything else would quietly be database 0.
        const url = new URL(text);
        if (url.hostname && /^\/?([0-9]+)?$/.test(url.pathname)) return text;
      } catch {}
      throw new Error(
        "a URL such as rediss://user:password@host:6379/0, its path a database number if any " +
          "(in the password, percent-encode / ? # @)",
      );
    },
    (text) => text,
  );
