import { Elysia } from "elysia";
import type { RequestContext } from "../../http/request-context";
import { AdminModels, adminRoute, NumberParams, PhoneParams, PrefixParams } from "./model";
import type { AdminService } from "./service";

/**
 * Operator routes under /admin, mounted only when ADMIN_TOKEN is set; every one
 * needs the token (`authorize` throws otherwise, compared in constant time).
 */
export function adminController(
  admin: AdminService,
  context: RequestContext,
  authorize: (request: Request) => void,
) {
  return (
    new Elysia({ name: "admin", prefix: "/admin" })
      .use(context)
      .model(AdminModels)
      // Before the parameters are validated: without the token, every route answers 401 alike.
      .onTransform(({ request }) => authorize(request))
      .get(
        "/guard",
        () => admin.state(),
        adminRoute("GuardState", {
          operationId: "getGuardState",
          summary: "The spend guard's state",
          description: "Active prefix blocks and the use of every send budget.",
        }),
      )
      .delete(
        "/blocks/:prefix",
        async ({ params, meta }) => ({ done: await admin.liftBlock(params.prefix, meta.log) }),
        {
          params: PrefixParams,
          ...adminRoute("Done", {
            operationId: "liftBlock",
            summary: "Lift a prefix block",
            description:
              "Lifts the block of a number block (a number less PUMPING_PREFIX_DROP digits) or of a range (less " +
              "PUMPING_RANGE_DROP). `done: false` when it was not blocked. Its strikes stay: a repeat is blocked longer.",
          }),
        },
      )
      .put(
        "/safe-list/prefixes/:prefix",
        async ({ params, meta }) => ({
          done: await admin.addToSafeList({ prefix: params.prefix }, meta.log),
        }),
        {
          params: PrefixParams,
          ...adminRoute("Done", {
            operationId: "addSafePrefix",
            summary: "Never block a prefix",
            description: "The pumping guard never blocks numbers of this prefix.",
          }),
        },
      )
      .delete(
        "/safe-list/prefixes/:prefix",
        async ({ params, meta }) => ({
          done: await admin.removeFromSafeList({ prefix: params.prefix }, meta.log),
        }),
        {
          params: PrefixParams,
          ...adminRoute("Done", {
            operationId: "removeSafePrefix",
            summary: "Take a prefix off the safe list",
            description: "",
          }),
        },
      )
      .put(
        "/safe-list/numbers/:number",
        async ({ params, meta }) => ({
          done: await admin.addToSafeList({ number: params.number }, meta.log),
        }),
        {
          params: NumberParams,
          ...adminRoute("Done", {
            operationId: "addSafeNumber",
            summary: "Never block a number",
            description: "The pumping guard never blocks this number.",
            phone: true,
          }),
        },
      )
      .delete(
        "/safe-list/numbers/:number",
        async ({ params, meta }) => ({
          done: await admin.removeFromSafeList({ number: params.number }, meta.log),
        }),
        {
          params: NumberParams,
          ...adminRoute("Done", {
            operationId: "removeSafeNumber",
            summary: "Take a number off the safe list",
            description: "",
            phone: true,
          }),
        },
      )
      .delete(
        "/phones/:phone/windows",
        async ({ params, meta }) => ({ done: await admin.clearPhone(params.phone, meta.log) }),
        {
          params: PhoneParams,
          ...adminRoute("Done", {
            operationId: "clearPhoneWindows",
            summary: "Clear a phone's windows",
            description:
              "Forgets the phone's send and verify windows: the support desk's \"my user is locked out\". Takes any " +
              "number the gateway keys windows by: a mobile in any spelling of it, or a configured test number as " +
              "written in TEST_PHONES (which need not be a mobile, e.g. `+15555550100`).",
            phone: true,
          }),
        },
      )
  );
}
