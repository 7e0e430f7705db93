// GraphQL Code Generator: typed documents for every operation and fragment
// written in src/ (gql tags beside the components that use them), checked
// against the server's schema. `npm run codegen` rewrites src/gql/graphql.ts
// (committed, so the app builds without a server); `npm run codegen:check`
// fails when it is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/app/**/*.ts'],
  generates: {
    'src/gql/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        // `null` for nullable fields, as the server answers; inputs may leave them out.
        avoidOptionals: { field: true, inputValue: false },
        scalars: { DateTime: 'string', JSON: 'unknown', Upload: 'File' },
        strictScalars: true,
        // Apollo Client adds `__typename` to every selection set but the root.
        nonOptionalTypename: true,
        skipTypeNameForRoot: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
