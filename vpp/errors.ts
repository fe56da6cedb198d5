/**
 * Errors of the VPP binary-API client. Each kind is its own class so callers
 * can tell "VPP said no" from "VPP went away" from "we are too old for it".
 * @module
 */

/**
 * VNET error numbers (`vnet/api_errno.h`) by retval. The lb plugin's own
 * returns (vpp-api.md section 4) come first; the rest are common codes a
 * maglev operator may meet in logs.
 */
export const VNET_ERRORS: ReadonlyMap<number, string> = new Map<number, string>([
  [-1, "UNSPECIFIED"],
  [-2, "INVALID_SW_IF_INDEX"],
  [-3, "NO_SUCH_FIB"],
  [-4, "NO_SUCH_INNER_FIB"],
  [-5, "NO_SUCH_LABEL"],
  [-6, "NO_SUCH_ENTRY"],
  [-7, "INVALID_VALUE"],
  [-8, "INVALID_VALUE_2"],
  [-9, "UNIMPLEMENTED"],
  [-10, "INVALID_SW_IF_INDEX_2"],
  [-11, "SYSCALL_ERROR_1"],
  [-12, "SYSCALL_ERROR_2"],
  [-13, "SYSCALL_ERROR_3"],
  [-14, "SYSCALL_ERROR_4"],
  [-15, "SYSCALL_ERROR_5"],
  [-16, "SYSCALL_ERROR_6"],
  [-17, "SYSCALL_ERROR_7"],
  [-18, "SYSCALL_ERROR_8"],
  [-19, "SYSCALL_ERROR_9"],
  [-20, "SYSCALL_ERROR_10"],
  [-30, "FEATURE_DISABLED"],
  [-31, "INVALID_REGISTRATION"],
  [-50, "NEXT_HOP_NOT_IN_FIB"],
  [-51, "UNKNOWN_DESTINATION"],
  [-52, "NO_PATHS_IN_ROUTE"],
  [-53, "NEXT_HOP_NOT_FOUND_MP"],
  [-54, "NO_MATCHING_INTERFACE"],
  [-55, "INVALID_VLAN"],
  [-56, "VLAN_ALREADY_EXISTS"],
  [-57, "INVALID_SRC_ADDRESS"],
  [-58, "INVALID_DST_ADDRESS"],
  [-59, "ADDRESS_LENGTH_MISMATCH"],
  [-60, "ADDRESS_NOT_FOUND_FOR_INTERFACE"],
  [-61, "ADDRESS_NOT_DELETABLE"],
  [-62, "IP6_NOT_ENABLED"],
  [-63, "IN_PROGRESS"],
  [-64, "NO_SUCH_NODE"],
  [-65, "NO_SUCH_NODE2"],
  [-66, "NO_SUCH_TABLE"],
  [-67, "NO_SUCH_TABLE2"],
  [-68, "NO_SUCH_TABLE3"],
  [-69, "SUBIF_ALREADY_EXISTS"],
  [-70, "INVALID_MEMORY_SIZE"],
  [-71, "INVALID_INTERFACE"],
  [-72, "INVALID_VLAN_TAG_COUNT"],
  [-73, "INVALID_ARGUMENT"],
  [-74, "UNEXPECTED_INTF_STATE"],
  [-75, "TUNNEL_EXIST"],
  [-76, "INVALID_DECAP_NEXT"],
  [-77, "RESPONSE_NOT_READY"],
  [-78, "NOT_CONNECTED"],
  [-79, "IF_ALREADY_EXISTS"],
  [-80, "BOND_SLAVE_NOT_ALLOWED"],
  [-81, "VALUE_EXIST"],
  [-82, "SAME_SRC_DST"],
  [-83, "IP6_MULTICAST_ADDRESS_NOT_PRESENT"],
  [-84, "SR_POLICY_NAME_NOT_PRESENT"],
  [-85, "NOT_RUNNING_AS_ROOT"],
  [-86, "ALREADY_CONNECTED"],
  [-87, "UNSUPPORTED_JNI_VERSION"],
  [-88, "IP_PREFIX_INVALID"],
  [-89, "INVALID_WORKER"],
  [-90, "LISP_DISABLED"],
  [-91, "CLASSIFY_TABLE_NOT_FOUND"],
  [-92, "INVALID_EID_TYPE"],
  [-93, "CANNOT_CREATE_PCAP_FILE"],
  [-94, "INCORRECT_ADJACENCY_TYPE"],
  [-95, "EXCEEDED_NUMBER_OF_RANGES_CAPACITY"],
  [-96, "EXCEEDED_NUMBER_OF_PORTS_CAPACITY"],
  [-97, "INVALID_ADDRESS_FAMILY"],
  [-98, "INVALID_SUB_SW_IF_INDEX"],
  [-99, "TABLE_TOO_BIG"],
  [-100, "CANNOT_ENABLE_DISABLE_FEATURE"],
  [-101, "BFD_EEXIST"],
  [-102, "BFD_ENOENT"],
  [-103, "BFD_EINUSE"],
  [-104, "BFD_NOTSUPP"],
  [-105, "ADDRESS_IN_USE"],
  [-106, "ADDRESS_NOT_IN_USE"],
  [-107, "QUEUE_FULL"],
  [-108, "APP_UNSUPPORTED_CFG"],
  [-109, "URI_FIFO_CREATE_FAILED"],
  [-110, "LISP_RLOC_LOCAL"],
  [-111, "BFD_EAGAIN"],
  [-112, "INVALID_GPE_MODE"],
  [-113, "LISP_GPE_ENTRIES_PRESENT"],
  [-114, "ADDRESS_FOUND_FOR_INTERFACE"],
  [-115, "SESSION_CONNECT"],
  [-116, "ENTRY_ALREADY_EXISTS"],
  [-117, "SVM_SEGMENT_CREATE_FAIL"],
  [-118, "APPLICATION_NOT_ATTACHED"],
  [-119, "BD_ALREADY_EXISTS"],
  [-120, "BD_IN_USE"],
  [-121, "BD_NOT_MODIFIABLE"],
  [-122, "BD_ID_EXCEED_MAX"],
  [-123, "SUBIF_DOESNT_EXIST"],
  [-124, "L2_MACS_EVENT_CLINET_PRESENT"],
  [-125, "INVALID_QUEUE"],
  [-126, "UNSUPPORTED"],
  [-127, "DUPLICATE_IF_ADDRESS"],
  [-128, "APP_INVALID_NS"],
  [-129, "APP_WRONG_NS_SECRET"],
  [-130, "APP_CONNECT_SCOPE"],
  [-131, "APP_ALREADY_ATTACHED"],
  [-132, "SESSION_REDIRECT"],
  [-133, "ILLEGAL_NAME"],
  [-134, "NO_NAME_SERVERS"],
  [-135, "NAME_SERVER_NOT_FOUND"],
  [-136, "NAME_RESOLUTION_NOT_ENABLED"],
  [-137, "NAME_SERVER_FORMAT_ERROR"],
  [-138, "NAME_SERVER_NO_SUCH_NAME"],
  [-139, "NAME_SERVER_NO_ADDRESSES"],
  [-140, "NAME_SERVER_NEXT_SERVER"],
  [-141, "APP_CONNECT_FILTERED"],
  [-142, "ACL_IN_USE_INBOUND"],
  [-143, "ACL_IN_USE_OUTBOUND"],
  [-144, "INIT_FAILED"],
  [-145, "NETLINK_ERROR"],
  [-146, "BIER_BSL_UNSUP"],
  [-147, "INSTANCE_IN_USE"],
  [-148, "INVALID_SESSION_ID"],
  [-149, "ACL_IN_USE_BY_LOOKUP_CONTEXT"],
  [-150, "INVALID_VALUE_3"],
  [-151, "NON_ETHERNET"],
  [-152, "BD_ALREADY_HAS_BVI"],
  [-153, "INVALID_PROTOCOL"],
  [-154, "INVALID_ALGORITHM"],
  [-155, "RSRC_IN_USE"],
  [-156, "KEY_LENGTH"],
  [-157, "FIB_PATH_UNSUPPORTED_NH_PROTO"],
  [-159, "API_ENDIAN_FAILED"],
  [-160, "NO_CHANGE"],
  [-161, "MISSING_CERT_KEY"],
  [-162, "LIMIT_EXCEEDED"],
  [-163, "IKE_NO_PORT"],
  [-164, "UDP_PORT_TAKEN"],
  [-165, "EAGAIN"],
  [-166, "INVALID_VALUE_4"],
  [-167, "BUSY"],
  [-168, "BUG"],
  [-169, "FEATURE_ALREADY_DISABLED"],
  [-170, "FEATURE_ALREADY_ENABLED"],
  [-171, "INVALID_PREFIX_LENGTH"],
]);

/** The VNET error name for a retval, e.g. `NO_SUCH_ENTRY` for -6; `UNKNOWN` otherwise. */
export function vnetErrorName(retval: number): string {
  return VNET_ERRORS.get(retval) ?? "UNKNOWN";
}

/** VPP answered a request with a negative retval. */
export class VppApiError extends Error {
  /** The request's message name, e.g. `lb_add_del_vip_v2`. */
  readonly msg: string;
  /** VPP's retval (negative). */
  readonly retval: number;
  /** The VNET error name, e.g. `VALUE_EXIST`. */
  readonly errorName: string;

  /** Builds the error for request `msg` answered with `retval`. */
  constructor(msg: string, retval: number) {
    const errorName = vnetErrorName(retval);
    super(`VPP rejected ${msg}: retval ${retval} (${errorName})`);
    this.name = "VppApiError";
    this.msg = msg;
    this.retval = retval;
    this.errorName = errorName;
  }
}

/** The connected VPP lacks messages (name_crc) maglev needs: a different API. */
export class VppIncompatibleError extends Error {
  /** The `name_crc` keys missing from VPP's message table. */
  readonly missing: readonly string[];

  /** Builds the error listing `missing` table keys. */
  constructor(missing: readonly string[]) {
    super(
      `VPP API incompatible: ${missing.length} message(s) missing or with another CRC: ` +
        missing.join(", "),
    );
    this.name = "VppIncompatibleError";
    this.missing = [...missing];
  }
}

/** The connection to VPP is closed (EOF, reset, or closed by us). */
export class VppClosedError extends Error {
  /** Builds the error with a reason such as `VPP closed the connection`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VppClosedError";
  }
}

/** A request got no (complete) reply within its timeout. */
export class VppTimeoutError extends Error {
  /** The request's message name. */
  readonly msg: string;
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;

  /** Builds the error for request `msg` after `timeoutMs`. */
  constructor(msg: string, timeoutMs: number) {
    super(`VPP did not answer ${msg} within ${timeoutMs} ms`);
    this.name = "VppTimeoutError";
    this.msg = msg;
    this.timeoutMs = timeoutMs;
  }
}

/** Bytes that do not form a valid message or frame (truncated, trailing bytes, bad values). */
export class VppDecodeError extends Error {
  /** Builds the error with a message naming the message and field. */
  constructor(message: string) {
    super(message);
    this.name = "VppDecodeError";
  }
}

/** A request the client refuses to send (bad field value, unknown message, ...); nothing was sent. */
export class VppRequestError extends Error {
  /** Builds the error with a message naming the message and field. */
  constructor(message: string) {
    super(message);
    this.name = "VppRequestError";
  }
}

/**
 * The text of anything thrown: an Error's message, else its string form.
 * `vpp/` imports nothing from `src/`, so it keeps this one-line twin of
 * `src/errors.ts`'s `errorMessage`.
 */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
