import type { SendOtpResult, SmsProvider, VerifyFailure } from "../../adapters/sms/interface";
import type { Logger } from "../../lib/logger";
import { maskPhone } from "../../lib/mask";
import { parseMobile } from "../../lib/phone";

export interface OtpServiceDeps {
  provider: SmsProvider;
  logger: Logger;
  /** Tell the caller why a verify failed. Default off: one generic answer leaks less. */
  exposeReason: boolean;
}

export interface SendOutcome extends SendOtpResult {
  /** Masked, for the request log. */
  maskedPhone: string;
}

export type VerifyOutcome = { verified: true } | { verified: false; reason?: VerifyFailure };

/** Sending and verifying codes, free of HTTP: the controller maps errors to answers. */
export class OtpService {
  constructor(private readonly deps: OtpServiceDeps) {}

  async send(phone: string, idempotencyKey: string | undefined): Promise<SendOutcome> {
    const mobile = parseMobile(phone); // throws INVALID_PHONE before anything is spent
    const result = await this.deps.provider.send({ phone: mobile.e164, idempotencyKey: idempotencyKey ?? crypto.randomUUID() });
    return { ...result, maskedPhone: maskPhone(mobile.e164, mobile.callingCode) };
  }

  async verify(requestId: string, code: string): Promise<VerifyOutcome> {
    const result = await this.deps.provider.verify({ requestId, code });
    if (result.verified) return result;
    this.deps.logger.debug("verify refused", { verificationId: requestId, reason: result.reason });
    return this.deps.exposeReason ? result : { verified: false };
  }
}
