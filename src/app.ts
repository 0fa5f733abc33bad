import { Elysia } from "elysia";
import type { SmsProvider } from "./adapters/sms/interface";
import type { Logger } from "./lib/logger";
import { openapiDocs } from "./http/openapi";
import { requestContext } from "./http/request-context";
import { healthController } from "./modules/health";
import { otpController } from "./modules/otp";
import { OtpService } from "./modules/otp/service";

/** Everything the app needs, built in one place (src/services.ts) or by a test. */
export interface AppDeps {
  logger: Logger;
  provider: SmsProvider;
  maxBodySize: number;
  idleTimeoutSeconds: number;
  exposeVerifyReason: boolean;
}

export function createApp(deps: AppDeps) {
  const context = requestContext({ logger: deps.logger, maxBodySize: deps.maxBodySize });
  const otp = new OtpService({ provider: deps.provider, logger: deps.logger, exposeReason: deps.exposeVerifyReason });
  return new Elysia({
    serve: {
      idleTimeout: deps.idleTimeoutSeconds,
      // Bun refuses a larger declared body itself (plain 413); our own check below
      // this cap answers problem+json, so the cap sits well above MAX_BODY_SIZE.
      maxRequestBodySize: Math.max(4 * deps.maxBodySize, 65_536),
    },
  })
    .use(context)
    .use(openapiDocs())
    .use(healthController({ provider: deps.provider }))
    .use(otpController(otp, context));
}

export type App = ReturnType<typeof createApp>;
