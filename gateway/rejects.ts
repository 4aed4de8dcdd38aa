/**
 * Every reason trackstream refuses a connection, a message or a value. Counted per reason and per
 * device, so a person can tell at once why a device shows nothing.
 */
export const REJECT_REASONS = {
  // connection
  missing_credentials: 'the device connected without a username (its device id) or password',
  unknown_device: 'no device is registered under this id',
  bad_secret: 'the password does not match the device secret',
  device_disabled: 'the device is disabled',
  client_id_not_own: 'the MQTT client id is another device\'s id, or empty with a persistent session (clean=false)',
  topic_not_allowed: 'the device published outside its own ts/v1/<deviceId>/ topics',
  subscribe_not_allowed: 'the device subscribed outside its own ts/v1/<deviceId>/ topics',
  message_too_large: 'the MQTT packet is larger than MAX_MESSAGE_BYTES',
  // message
  unknown_channel: 'the topic is the device\'s own, but not one of fix, scan or driver',
  malformed_json: 'the payload looks like JSON but does not parse',
  malformed_protobuf: 'the payload is not a valid protobuf batch',
  invalid_fix: 'a fix is missing a required field or has a field of the wrong type',
  invalid_scan: 'a scan is missing a required field or has a field of the wrong type',
  invalid_event: 'a device event (a reader\'s heartbeat, antenna, GPI or inventory status) is missing a field or has one of the wrong type',
  invalid_driver_event: 'a driver event is missing a required field (an attempt needs its reason, a COD payment its amount) or has one of the wrong type',
  empty_batch: 'the payload carries no fixes or scans',
  device_mismatch: 'the id inside the payload differs from the id in the topic',
  wrong_format: 'the payload is not in the format the device is registered with',
  unsupported_message: 'a valid message of a kind trackstream does not use (an OwnTracks card, a LoRaWAN join, ...)',
  no_position: 'the message carries no usable position of the device itself (no fix, or only a gateway or registry location)',
  bad_checksum: 'an NMEA sentence whose checksum does not match',
  missing_device_id: 'the message names no device',
  unknown_parcel: 'no parcel has this tracking number',
  cod_mismatch: 'the cash collected is in another currency than the parcel\'s cash on delivery',
  // value
  bad_coordinates: 'latitude or longitude is out of range, or exactly 0,0',
  time_in_future: 'the timestamp is ahead of the server clock by more than the allowed skew',
  time_too_old: 'the timestamp is older than the retention window',
  implausible_speed: 'the speed is negative or faster than any vehicle',
  bad_value: 'heading, accuracy, battery, antenna or RSSI is out of range',
  bad_epc: 'the EPC is not an even-length hexadecimal string of 4 to 124 digits',
  invalid_text: 'the payload is not valid UTF-8, or a text in it holds a NUL character or an unpaired surrogate, which PostgreSQL cannot store',
  // trackstream
  stage_failed: 'a pipeline stage failed on this item (a trackstream bug, logged with the stage); the item was refused rather than stored half-checked',
  overloaded: 'trackstream already holds as many unacknowledged messages as it may (the database is slow or away); send it again later',
  // storage
  db_rejected: 'the database refused the row; it is kept in ingest_rejects'
} as const

export type RejectReason = keyof typeof REJECT_REASONS

export interface Rejection {
  reason: RejectReason
  detail: string
}

export function rejection (reason: RejectReason, detail: string = REJECT_REASONS[reason]): Rejection {
  return { reason, detail }
}
