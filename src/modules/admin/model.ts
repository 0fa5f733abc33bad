import { type TSchema, t } from "elysia";
import { problemResponses } from "../../http/openapi-models";
import { E164_PATTERN } from "../../lib/phone";

export const PREFIX_PATTERN = "^\\+[1-9][0-9]{2,13}$";

export const GuardStateModel = t.Object({
  pumpingGuard: t.Union([t.Literal("off"), t.Literal("monitor"), t.Literal("enforce")], { description: "PUMPING_GUARD." }),
  blocks: t.Array(
    t.Object({
      prefix: t.String({ description: "The blocked number prefix (E.164 without its last digits).", examples: ["+919876543"] }),
      remainingSeconds: t.Integer({ minimum: 0 }),
      strikes: t.Integer({ minimum: 1, description: "Blocks of this prefix so far: each doubles the next." }),
    }),
  ),
  budgets: t.Array(
    t.Object({
      budget: t.String({ description: "`*` or a country code.", examples: ["*"] }),
      window: t.String({ examples: ["10000/24h"] }),
      limit: t.Integer(),
      used: t.Integer(),
      remaining: t.Integer(),
    }),
  ),
});
export type GuardState = typeof GuardStateModel.static;

export const PrefixParams = t.Object({ prefix: t.String({ pattern: PREFIX_PATTERN, examples: ["+919876543"] }) });
export const NumberParams = t.Object({ number: t.String({ pattern: E164_PATTERN, examples: ["+919876543210"] }) });
export const PhoneParams = t.Object({ phone: t.String({ pattern: E164_PATTERN, examples: ["+919876543210"] }) });
export const Done = t.Object({ done: t.Boolean() });

const ADMIN_ERRORS = problemResponses([
  "INVALID_REQUEST",
  "INVALID_PHONE",
  "UNAUTHORIZED",
  "STORE_UNAVAILABLE",
  "INTERNAL_ERROR",
]);
export const adminDocs = <T extends TSchema>(summary: string, description: string, ok: T) => ({
  // No admin route takes a body: none is read, so a PUT or DELETE without one is not a 415.
  parse: "none" as const,
  response: { ...ADMIN_ERRORS, 200: ok },
  detail: { summary, description, tags: ["Admin"] },
});
