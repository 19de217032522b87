/**
 * The public event contracts of the projects context: TypeScript types and Avro schemas generated
 * from schemas/projects (do not edit src/generated; run `npm run schemas:codegen`).
 */
export * from './generated';
