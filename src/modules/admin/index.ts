import { Elysia } from "elysia";
import type { RequestContext } from "../../http/request-context";
import { adminRoute, Done, GuardStateModel, NumberParams, PhoneParams, PrefixParams } from "./model";
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
        ...adminRoute(GuardStateModel),
      })
      .delete("/blocks/:prefix", async ({ params }) => ({ done: await admin.liftBlock(params.prefix) }), {
        params: PrefixParams,
        ...adminRoute(Done),
      })
      .put(
        "/safe-list/prefixes/:prefix",
        async ({ params }) => ({ done: await admin.addToSafeList({ prefix: params.prefix }) }),
        {
          params: PrefixParams,
          ...adminRoute(Done),
        },
      )
      .delete(
        "/safe-list/prefixes/:prefix",
        async ({ params }) => ({ done: await admin.removeFromSafeList({ prefix: params.prefix }) }),
        { params: PrefixParams, ...adminRoute(Done) },
      )
      .put("/safe-list/numbers/:number", async ({ params }) => ({ done: await admin.addToSafeList({ number: params.number }) }), {
        params: NumberParams,
        ...adminRoute(Done),
      })
      .delete(
        "/safe-list/numbers/:number",
        async ({ params }) => ({ done: await admin.removeFromSafeList({ number: params.number }) }),
        { params: NumberParams, ...adminRoute(Done) },
      )
      .delete("/phones/:phone/windows", async ({ params }) => ({ done: await admin.clearPhone(params.phone) }), {
        params: PhoneParams,
        ...adminRoute(Done),
      })
  );
}
