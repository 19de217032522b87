/**
 * The operations endpoints every app serves besides its API: health probes, Prometheus metrics
 * and the OpenAPI document with its Swagger page. With a management port they are served there
 * only, and the API port serves everything else; they never need a token.
 */
const MANAGEMENT_PATH = /^\/(?:health(?:\/|$)|metrics(?:\/|$)|docs(?:[/-]|$)|openapi\.json$)/;

export const isManagementPath = (path: string): boolean => MANAGEMENT_PATH.test(path);
