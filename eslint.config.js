// Lint rules: typescript-eslint's recommended set, plus the style page's "no any" and
// "no floating promises" (docs/architecture.md, style: TypeScript).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules', 'data', 'dist', 'web/dist', 'console/dist', 'coverage'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The server's code: an object literal with an accessor of its own gets a hidden class of its
    // own, which V8 keeps in the old generation, and what the accessor's closure holds is then
    // promoted with it (docs/storage.md, "Garbage collection"). A method, or a class's getter.
    files: ['src/**/*.ts', 'src/**/*.mjs'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: "ObjectExpression > Property[kind='get']", message: 'No getter in an object literal on the server: use a method or a class getter (docs/storage.md, "Garbage collection").' },
        { selector: "ObjectExpression > Property[kind='set']", message: 'No setter in an object literal on the server: use a method or a class setter (docs/storage.md, "Garbage collection").' },
        { selector: "CallExpression[callee.object.name='Object'][callee.property.name='defineProperty'] > ObjectExpression > Property[key.name=/^(get|set)$/]", message: 'No accessor added to an object on the server: use a method or a class getter (docs/storage.md, "Garbage collection").' },
      ],
    },
  },
  { files: ['bin/**/*.js', 'src/**/*.mjs', 'scripts/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } } },
)
