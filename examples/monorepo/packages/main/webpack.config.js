const fs = require('fs');
const path = require('path');
const HtmlWebpackPlugin = require('html-webpack-plugin');
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

/**
 * Copies every file of ./public verbatim (unhashed) into dist/,
 * e.g. public/robots.txt -> dist/robots.txt. Avoids a copy-webpack-plugin dependency.
 */
class CopyPublicPlugin {
  constructor(dir) {
    this.dir = dir;
  }
  apply(compiler) {
    const { Compilation, sources } = compiler.webpack;
    compiler.hooks.thisCompilation.tap('CopyPublicPlugin', (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: 'CopyPublicPlugin', stage: Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
        () => {
          for (const name of fs.readdirSync(this.dir).sort()) {
            const file = path.join(this.dir, name);
            compilation.fileDependencies.add(file);
            compilation.emitAsset(name, new sources.RawSource(fs.readFileSync(file)));
          }
        },
      );
    });
  }
}

module.exports = {
  mode: 'production',
  context: __dirname,
  entry: { main: './src/index.js' },
  devtool: 'source-map',
  output: {
    path: path.resolve(__dirname, 'dist'),
    // Location-independent: 'auto' makes the runtime derive the public path from the URL
    // of main.*.js and html-webpack-plugin emit index.html's URLs relative to index.html,
    // so the same build can be served in place at /main/ or versioned at /main/<version>/.
    publicPath: 'auto',
    filename: '[name].[contenthash].js',
    chunkFilename: '[name].[contenthash].js',
    assetModuleFilename: 'assets/[name].[contenthash][ext]',
    uniqueName: 'main',
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
      name: 'main',
      // Remotes live next to the shell on the same site, under their own prefixes.
      remotes: {
        subscriptions: 'subscriptions@/subscriptions/remoteEntry.js',
        checkout: 'checkout@/checkout/remoteEntry.js',
      },
      dts: false,
      virtualRuntimeEntry: true,
      // Trim the federation runtime: remotes are plain remoteEntry.js URLs and nothing is shared.
      experiments: {
        optimization: { disableSnapshot: true, disableShared: true, target: 'web' },
      },
    }),
    new HtmlWebpackPlugin({
      template: './src/index.html',
      filename: 'index.html',
    }),
    new CopyPublicPlugin(path.resolve(__dirname, 'public')),
  ],
};
