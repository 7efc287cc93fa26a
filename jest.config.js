// Unit tests of the panel's plain TypeScript modules (SSE client, chat state, helpers).
// The few lab packages they load at run time ship ES modules: those are compiled too.
const esModules = ['@jupyterlab/(translation|statedb|services|coreutils)'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['<rootDir>/src/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.[tj]sx?$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          target: 'ES2020',
          lib: ['DOM', 'DOM.Iterable', 'ES2020'],
          esModuleInterop: true,
          allowJs: true,
          strict: true,
          types: ['jest']
        }
      }
    ]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules.join('|')})/)`]
};
