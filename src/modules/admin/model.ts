import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import { E164_PATTERN } from "../../domain/phone";
import type { ErrorCode } from "../../errors";
import { answer, type OperationDetail, problemResponses, SECURITY } from "../../http/openapi-detail";
import { literals } from "../../http/openapi-models";

export const PREFIX_PATTERN = "^\\+[1-9][0-9]{2,13}$";

export const GuardStateModel = t.Object({
  pumpingGuard: literals(["off", "monitor", "enforce"], { description: "PUMPING_GUARD." }),
  blocks: t.Array(
    t.Object({
      prefix: t.String({
        description: "The blocked number prefix (E.164 without its last digits).",
        examples: ["+919876543"],
      }),
      range: t.Boolean({
        description:
          "A wider range (the number less PUMPING_RANGE_DROP digits), blocked as a whole; false: a block (PUMPING_PREFIX_DROP).",
      }),
      remainingSeconds: Type.Integer({ minimum: 0 }),
      strikes: Type.Integer({
        minimum: 1,
        description: "Blocks of this prefix so far: each doubles the next.",
      }),
    }),
  ),
  bounded: t.Array(
    t.Object({
      prefix: t.String({
        description: "The block or range (E.164 without its last digits).",
        examples: ["+919876543"],
      }),
      range: t.Boolean({
        description: "A wider range (PUMPING_RANGE_DROP); false: a block (PUMPING_PREFIX_DROP).",
      }),
      unproven: Type.Integer({
        minimum: 0,
        description: "Its sends not verified yet, in PUMPING_UNPROVEN_WINDOW.",
      }),
      bound: Type.Integer({
        minimum: 1,
        description: "PUMPING_UNPROVEN_BLOCK or _RANGE: at this count, sends to its new numbers are refused.",
      }),
    }),
    {
      description:
        "Blocks and ranges at their bound on unproven sends now (a hundred at most, the most held first): " +
        "their new numbers are refused until codes are verified or the window moves on; returning users are served.",
    },
  ),
  budgets: t.Array(
    t.Object({
      budget: t.String({ description: "`*` or a country code.", examples: ["*"] }),
      window: t.String({ examples: ["10000/24h"] }),
      limit: Type.Integer({ minimum: 1 }),
      used: Type.Integer({ minimum: 0 }),
      remaining: Type.Integer({ minimum: 0 }),
      openRemaining: Type.Integer({
        minimum: 0,
        description:
          "Sends left to new numbers before the reserve (BUDGET_RESERVE): at 0, only returning users are served.",
      }),
    }),
  ),
});
export type GuardState = typeof GuardStateModel.static;

export const PrefixParams = t.Object({
  prefix: t.String({ pattern: PREFIX_PATTERN, examples: ["+919876543"] }),
});
export const NumberParams = t.Object({
  number: t.String({ pattern: E164_PATTERN, examples: ["+919876543210"] }),
});
export const PhoneParams = t.Object({
  phone: t.String({ pattern: E164_PATTERN, examples: ["+919876543210"] }),
});
export const Done = t.Object({ done: t.Boolean() });

/** The models the admin routes answer with: each is `components.schemas[name]` in the document. */
export const AdminModels = { GuardState: GuardStateModel, Done };

const ADMIN_ERRORS: readonly ErrorCode[] = [
  "INVALID_REQUEST",
  "UNAUTHORIZED",
  "STORE_UNAVAILABLE",
  "INTERNAL_ERROR",
];

interface AdminDoc {
  operationId: string;
  summary: string;
  description: string;
  /** The route takes a phone number in its path (a number it cannot read is INVALID_PHONE). */
  phone?: boolean;
}

/**
 * What every admin route declares besides its params: no body is read, its 200 is
 * checked against the model `ok`, and its `detail` for the OpenAPI document.
 */
export const adminRoute = <const Ok extends keyof typeof AdminModels>(ok: Ok, doc: AdminDoc) => ({
  // No admin route takes a body: none is read, so a PUT or DELETE without one is not a 415.
  parse: "none" as const,
  response: { 200: ok },
  detail: {
    operationId: doc.operationId,
    tags: ["Admin"],
    summary: doc.summary,
    description: `${doc.description} Logged with what changed (never a full number).`.trim(),
    security: SECURITY.admin,
    responses: {
      200: answer(ok === "Done" ? "Done, or `done: false` when there was nothing to do." : doc.summary),
      ...problemResponses(doc.phone ? [...ADMIN_ERRORS, "INVALID_PHONE"] : ADMIN_ERRORS),
    },
  } satisfies OperationDetail,
});
