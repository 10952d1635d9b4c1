const path = require('path');
const MiniCssExtractPlugin = require('mini-css-extract-plugin');
const { ModuleFederationPlugin } = require('@module-federation/enhanced/webpack');

/**
 * Determinism fix. @module-federation/enhanced generates a small runtime entry that
 * imports its bundler runtime by ABSOLUTE path (and, unless `virtualRuntimeEntry` is
 * on, also writes it to an absolute node_modules/.federation/ path that ends up in the
 * container module's identifier). Both leaked the checkout location into module ids,
 * remoteEntry.js / main.*.js and the source maps. Import the runtime by its package
 * export instead; together with `virtualRuntimeEntry: true` the output no longer
 * depends on where the repo lives.
 */
(function importFederationRuntimeByPackageName() {
  const lib = path.join(path.dirname(require.resolve('@module-federation/enhanced')), 'lib/container');
  const FederationRuntimePlugin = require(path.join(lib, 'runtime/FederationRuntimePlugin.js')).default;
  const getTemplate = FederationRuntimePlugin.getTemplate;
  FederationRuntimePlugin.getTemplate = function (...args) {
    return getTemplate
      .apply(this, args)
      .replace(
        /^import federation from '[^']+';/m,
        "import federation from '@module-federation/webpack-bundler-runtime/bundler';",
      );
  };
})();

module.exports = {
  mode: 'production',
  context: __dirname,
  // A pure remote: the only entry is the container (remoteEntry.js) added by the plugin.
  entry: {},
  devtool: 'source-map',
  output: {
    path: path.resolve(__dirname, 'dist'),
    // Location-independent: 'auto' makes the runtime derive the public path from the URL
    // remoteEntry.js was loaded from, so the same build can be served in place at
    // /checkout/ or versioned at /checkout/<version>/.
    publicPath: 'auto',
    filename: '[name].[contenthash].js',
    chunkFilename: '[name].[contenthash].js',
    assetModuleFilename: 'assets/[name].[contenthash][ext]',
    uniqueName: 'checkout',
    clean: true,
  },
  module: {
    rules: [
      { test: /\.css$/, use: [MiniCssExtractPlugin.loader, 'css-loader'] },
      { test: /\.(png|svg)$/, type: 'asset/resource' },
    ],
  },
  optimization: {
    moduleIds: 'deterministic',
    chunkIds: 'deterministic',
  },
  plugins: [
    new MiniCssExtractPlugin({
      filename: '[name].[contenthash].css',
      chunkFilename: '[name].[contenthash].css',
    }),
    new ModuleFederationPlugin({
      name: 'checkout',
      filename: 'remoteEntry.js',
      exposes: { './Cart': './src/Cart.js' },
      // Emits dist/mf-manifest.json (and dist/mf-stats.json).
      manifest: true,
      dts: false,
      virtualRuntimeEntry: true,
      // Trim the federation runtime: this remote neither consumes remotes nor shares deps.
      experiments: {
        optimization: { disableSnapshot: true, disableRemote: true, disableShared: true, target: 'web' },
      },
    }),
  ],
};
