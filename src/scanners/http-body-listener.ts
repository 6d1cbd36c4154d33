/**
 * Told about each -HTTPBODY- file the http scanner writes (tcpflow's http_alert_fd and
 * http_cmd hang on it): `opened` when the file is created, `closed` when a body that
 * holds bytes is complete (an empty body's file is removed without `closed`).
 */
export interface HttpBodyListener { opened(path: string): void; closed(path: string): void }
