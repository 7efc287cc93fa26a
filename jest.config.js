// Unit tests of the panel's plain TypeScript modules (SSE client, chat state, helpers).
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['<rootDir>/src/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          target: 'ES2020',
          lib: ['DOM', 'DOM.Iterable', 'ES2020'],
          esModuleInterop: true,
          strict: true,
          types: ['jest']
        }
      }
    ]
  }
};
