import { Type } from "@sinclair/typebox";
import { type TSchema, t } from "elysia";
import { E164_PATTERN } from "../../domain/phone";
import type { ErrorCode } from "../../errors";
import type { Named, OperationDoc } from "../../http/contract";
import { literals } from "../../http/openapi-models";

export const PREFIX_PATTERN = "^\\+[1-9][0-9]{2,13}$";

export const GuardStateModel = t.Object({
  pumpingGuard: literals(["off", "monitor", "enforce"], { description: "PUMPING_GUARD." }),
  blocks: t.Array(
    t.Object({
      prefix: t.String({ description: "The blocked number prefix (E.164 without its last digits).", examples: ["+919876543"] }),
      range: t.Boolean({
        description:
          "A wider range (the number less PUMPING_RANGE_DROP digits), blocked as a whole; false: a block (PUMPING_PREFIX_DROP).",
      }),
      remainingSeconds: Type.Integer({ minimum: 0 }),
      strikes: Type.Integer({ minimum: 1, description: "Blocks of this prefix so far: each doubles the next." }),
    }),
  ),
  budgets: t.Array(
    t.Object({
      budget: t.String({ description: "`*` or a country code.", examples: ["*"] }),
      window: t.String({ examples: ["10000/24h"] }),
      limit: Type.Integer({ minimum: 1 }),
      used: Type.Integer({ minimum: 0 }),
      remaining: Type.Integer({ minimum: 0 }),
    }),
  ),
});
export type GuardState = typeof GuardStateModel.static;

export const PrefixParams = t.Object({ prefix: t.String({ pattern: PREFIX_PATTERN, examples: ["+919876543"] }) });
export const NumberParams = t.Object({ number: t.String({ pattern: E164_PATTERN, examples: ["+919876543210"] }) });
export const PhoneParams = t.Object({ phone: t.String({ pattern: E164_PATTERN, examples: ["+919876543210"] }) });
export const Done = t.Object({ done: t.Boolean() });

const ADMIN_ERRORS: readonly ErrorCode[] = ["INVALID_REQUEST", "UNAUTHORIZED", "STORE_UNAVAILABLE", "INTERNAL_ERROR"];

/** An admin route's documentation; its route (index.ts) validates with the same schemas. */
const admin = (
  method: OperationDoc["method"],
  path: string,
  operationId: string,
  summary: string,
  description: string,
  ok: Named,
  params?: TSchema,
): OperationDoc => ({
  method,
  path: `/admin${path}`,
  operationId,
  tag: "Admin",
  summary,
  description: `${description} Logged with what changed (never a full number).`.trim(),
  security: "admin",
  ...(params ? { params } : {}),
  answers: {
    200: { description: ok[0] === "Done" ? "Done, or `done: false` when there was nothing to do." : summary, schema: ok },
  },
  errors: params === NumberParams || params === PhoneParams ? [...ADMIN_ERRORS, "INVALID_PHONE"] : ADMIN_ERRORS,
});

const DONE: Named = ["Done", Done];

export const ADMIN_OPERATIONS: OperationDoc[] = [
  admin("get", "/guard", "getGuardState", "The spend guard's state", "Active prefix blocks and the use of every send budget.", [
    "GuardState",
    GuardStateModel,
  ]),
  admin(
    "delete",
    "/blocks/:prefix",
    "liftBlock",
    "Lift a prefix block",
    "Lifts the block of a number block (a number less PUMPING_PREFIX_DROP digits) or of a range (less PUMPING_RANGE_DROP). " +
      "`done: false` when it was not blocked. Its strikes stay: a repeat is blocked longer.",
    DONE,
    PrefixParams,
  ),
  admin(
    "put",
    "/safe-list/prefixes/:prefix",
    "addSafePrefix",
    "Never block a prefix",
    "The pumping guard never blocks numbers of this prefix.",
    DONE,
    PrefixParams,
  ),
  admin("delete", "/safe-list/prefixes/:prefix", "removeSafePrefix", "Take a prefix off the safe list", "", DONE, PrefixParams),
  admin(
    "put",
    "/safe-list/numbers/:number",
    "addSafeNumber",
    "Never block a number",
    "The pumping guard never blocks this number.",
    DONE,
    NumberParams,
  ),
  admin("delete", "/safe-list/numbers/:number", "removeSafeNumber", "Take a number off the safe list", "", DONE, NumberParams),
  admin(
    "delete",
    "/phones/:phone/windows",
    "clearPhoneWindows",
    "Clear a phone's windows",
    "Forgets the phone's send and verify windows: the support desk's \"my user is locked out\". Takes any number " +
      "the gateway keys windows by: a mobile in any spelling of it, or a configured test number as written in " +
      "TEST_PHONES (which need not be a mobile, e.g. `+15555550100`).",
    DONE,
    PhoneParams,
  ),
];

/** What every admin route declares besides its params: no body is read, and its 200 is checked. */
export const adminRoute = <T extends TSchema>(ok: T) => ({
  // No admin route takes a body: none is read, so a PUT or DELETE without one is not a 415.
  parse: "none" as const,
  response: { 200: ok },
});
