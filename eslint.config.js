import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', '.airlock/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // The domain is pure: the edge (commons/) and the adapters import it, never the reverse, and
    // it makes no SDK calls.
    files: ['functions/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/commons', '**/commons/**'],
              message:
                'functions/domain/ imports nothing from commons/: the edge maps domain errors, not the domain.',
            },
            {
              group: ['**/adapters', '**/adapters/**'],
              message: 'functions/domain/ is pure: adapters call it, not the reverse.',
            },
            { group: ['@aws-sdk/*', 'aws-sdk'], message: 'functions/domain/ makes no SDK calls.' },
          ],
        },
      ],
      // no-restricted-imports does not see import(): the same boundary for dynamic imports.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'ImportExpression[source.value=/(^|\\/)(commons|adapters)(\\/|$)|^@aws-sdk\\/|^aws-sdk$/]',
          message: 'functions/domain/ imports nothing from commons/, adapters/ or the AWS SDK.',
        },
      ],
    },
  },
  {
    // The CLI is a client of a running runtime: it gets local tokens from `npm run token`.
    files: ['cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/local', '**/local/**'],
              message: 'cli/ imports nothing from local/: ask the running runtime or `npm run -s token`.',
            },
          ],
        },
      ],
      // no-restricted-imports does not see import(): the same boundary for dynamic imports.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/(^|\\/)local(\\/|$)/]',
          message: 'cli/ imports nothing from local/: ask the running runtime or `npm run -s token`.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  // client/: a package of its own (client/package.json). Web-standard APIs only, no server code.
  { ignores: ['client/generated/', 'client/dist/'] },
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/functions/**', '**/local/**', '**/cli/**', '**/console/**', '**/openapi/**'],
              message: 'client/ is published on its own: it imports nothing from the server or the tools.',
            },
            {
              group: ['@aws-sdk/*', 'node:*'],
              message: 'client/ uses web-standard APIs (node.ts alone may use node:*).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['client/node.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/functions/**', '**/local/**', '**/cli/**', '**/console/**', '**/openapi/**'],
              message: 'client/ is published on its own: it imports nothing from the server or the tools.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain ESM JavaScript (configs, jest global setup): no type information.
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
);
