/**
 * The SDK arms its own request timer (60 s by default). Deadlines belong to the machine's
 * `after` delays, so SDK requests get the largest delay `setTimeout` accepts: anything larger
 * overflows to 1 ms in Node and would fail every request at once.
 */
export const NO_SDK_TIMEOUT = 2_147_483_647;
