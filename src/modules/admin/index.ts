import { Elysia } from "elysia";
import type { RequestContext } from "../../http/request-context";
import { adminDocs, Done, GuardStateModel, NumberParams, PhoneParams, PrefixParams } from "./model";
import type { AdminService } from "./service";

/**
 * Operator routes under /admin, mounted only when ADMIN_TOKEN is set; every one
 * needs the token (`authorize` throws otherwise, compared in constant time).
 */
export function adminController(admin: AdminService, context: RequestContext, authorize: (request: Request) => void) {
  return (
    new Elysia({ name: "admin", prefix: "/admin" })
      .use(context)
      // Before the parameters are validated: without the token, every route answers 401 alike.
      .onTransform(({ request }) => authorize(request))
      .get("/guard", () => admin.state(), {
        ...adminDocs("The spend guard's state", "Active prefix blocks and the use of every send budget.", GuardStateModel),
      })
      .delete("/blocks/:prefix", async ({ params }) => ({ done: await admin.liftBlock(params.prefix) }), {
        params: PrefixParams,
        ...adminDocs(
          "Lift a prefix block",
          "`done: false` when the prefix was not blocked. Its strikes stay: a repeat is blocked longer.",
          Done,
        ),
      })
      .put(
        "/safe-list/prefixes/:prefix",
        async ({ params }) => ({ done: await admin.safeList({ prefix: params.prefix }, true) }),
        {
          params: PrefixParams,
          ...adminDocs("Never block a prefix", "The pumping guard never blocks numbers of this prefix.", Done),
        },
      )
      .delete(
        "/safe-list/prefixes/:prefix",
        async ({ params }) => ({ done: await admin.safeList({ prefix: params.prefix }, false) }),
        { params: PrefixParams, ...adminDocs("Take a prefix off the safe list", "", Done) },
      )
      .put(
        "/safe-list/numbers/:number",
        async ({ params }) => ({ done: await admin.safeList({ number: params.number }, true) }),
        {
          params: NumberParams,
          ...adminDocs("Never block a number", "The pumping guard never blocks this number.", Done),
        },
      )
      .delete(
        "/safe-list/numbers/:number",
        async ({ params }) => ({ done: await admin.safeList({ number: params.number }, false) }),
        { params: NumberParams, ...adminDocs("Take a number off the safe list", "", Done) },
      )
      .delete("/phones/:phone/windows", async ({ params }) => ({ done: await admin.clearPhone(params.phone) }), {
        params: PhoneParams,
        ...adminDocs(
          "Clear a phone's windows",
          "Forgets the phone's send and verify windows: the support desk's \"my user is locked out\".",
          Done,
        ),
      })
  );
}
