#!/usr/bin/env nextflow
/*
 * gmmn-sim under Nextflow (DSL2): the pipeline of a workflow spec (workflows/*.yaml), one process
 * per stage, writing the layout of `gmmn run SPEC --out DIR` (and of workflows/Snakefile).
 *
 *   nextflow run workflows/main.nf --spec workflows/quickstart.yaml --outdir out/quickstart \
 *       --bin target/release
 *
 * UNTESTED HERE: Nextflow could not be installed where this was written (its launcher downloads
 * its jars from outside the package registries that machine reaches). The spec handling mirrors
 * workflows/Snakefile, which is tested (tests/snakemake.rs); this file is kept plain DSL2 that
 * both the legacy and the strict parser (default from Nextflow 26.04) should accept. Report or
 * fix what a real Nextflow says.
 *
 * Parameters:
 *   --spec    the workflow spec (required); its input paths are relative to it
 *   --outdir  the run directory (default out/<spec name>), relative to the launch directory
 *   --bin     directory of the stage binaries and gmmn (default <repo>/target/release)
 *
 * The spec is read with the SnakeYAML that Nextflow bundles and interpreted as
 * crates/workflow/src/spec.rs does: stage parameters are the binaries' long flags without dashes,
 * in key order (a list comma-joined, `true` a bare flag, `false` nothing); a variant's
 * sketch/train/sample parameters override `stages:` key by key; the top-level `seed` (default 1)
 * is --seed of sketch, train, sample, project and discriminate unless the stage sets its own;
 * `gmmn-sample --n` is the sample parameter `n`, else the real group's haplotype count. It is not
 * validated against schemas/workflow.schema.json here: `gmmn check SPEC` does that.
 *
 * Where the outputs go: every stage runs in the launch directory and writes straight into
 * --outdir, with the command line `gmmn run` would use; Nextflow's task directories (work/) hold
 * only its own .command.* files. The stages record each input in their manifests by a path
 * relative to the manifest, after resolving symlinks; run in Nextflow's task directories on staged
 * inputs and copied out by publishDir, those paths would point into work/ and the published tree
 * would fail `gmmn audit`. So there is no publishDir, and work/, --outdir and the data must be on
 * a file system that every task sees (as for any Nextflow run on a cluster).
 *
 * Each stage's stdout and stderr go to DIR/logs/<step>.log and its command and seconds to
 * DIR/.gmmn/<step>.json, as gmmn run writes them (steps: ingest, split, baselines,
 * sketch__<variant>__<group>, train__..., sample__..., reference__<name>, project__<variant>,
 * discriminate__<variant>, discriminate-paper__<variant>, discriminate__reference__<name>,
 * discriminate-paper__reference__<name>): `gmmn run` then finds the stages up to date, and
 * `gmmn table` shows the training times. TABLE writes DIR/table.{md,json}; AUDIT seals the run
 * (DIR/ledger.yaml).
 *
 * The evaluation keys: evaluate.holdout > 0 passes --holdout-fraction and the seed to gmmn-split
 * and --heldout DIR/groups to every gmmn-discriminate; evaluate.references runs gmmn-reference
 * per entry into DIR/references/<name>/synthetic (REFERENCE) and judges it (DISCRIMINATE);
 * evaluate.paper-protocol adds a --protocol paper run of each variant and reference into
 * report-paper/. A spec with the old baselines `holdout` or `independent` is refused.
 *
 * Threads: a process with more than one cpu (`process.withName: TRAIN { cpus = 8 }` in a config)
 * passes --threads to the binaries that take it (ingest, sketch, train, reference, discriminate) unless the
 * spec sets `threads`; with the default of one cpu they use every core they see, as under gmmn run.
 *
 * Nextflow's -resume reuses a task whose command is unchanged; it does not look at DIR, so after
 * deleting outputs there run without -resume (or use `gmmn run`, which checks every manifest).
 */

params.spec = null
params.outdir = null
params.bin = "${projectDir}/../target/release"

// ---------------------------------------------------------------------------------------------
// The spec

def loadSpec(path) {
    def f = file(path)
    if (!f.exists()) {
        error("--spec ${path}: no such file")
    }
    def spec = new org.yaml.snakeyaml.Yaml().load(f.text)
    if (!(spec instanceof Map) || !spec.name || !spec.input || !spec.variants) {
        error("${path}: not a workflow spec (it needs name, input and variants; `gmmn check ${path}` says more)")
    }
    return spec
}

// Relative to the spec file's directory, joined as the Rust loader joins them (not normalised).
def inputPath(specPath, p) {
    def dir = new File(specPath.toString()).getParent()
    return dir == null ? p.toString() : "${dir}/${p}".toString()
}

def stageParams(spec, stage) {
    def p = [:]
    if (spec.stages && spec.stages[stage]) {
        p.putAll(spec.stages[stage])
    }
    return p
}

def variantParams(spec, variant, stage) {
    def p = stageParams(spec, stage)
    def v = spec.variants.find { x -> x.name == variant }
    if (v[stage]) {
        p.putAll(v[stage])
    }
    return p
}

def seeded(spec, stageArgs) {
    def p = [:]
    p.putAll(stageArgs)
    if (!p.containsKey('seed')) {
        p.seed = spec.seed == null ? 1 : spec.seed
    }
    return p
}

// A float as serde_json (ryu) writes it, so that the recorded commands read as gmmn run's.
def ryu(x) {
    def d = x.doubleValue()
    if (java.lang.Double.isNaN(d) || java.lang.Double.isInfinite(d)) {
        return d.toString()
    }
    if (d == 0) {
        return '0.0'
    }
    def bd = new java.math.BigDecimal(java.lang.Double.toString(java.lang.Math.abs(d))).stripTrailingZeros()
    def digits = bd.unscaledValue().toString()
    def exp = -bd.scale()
    def n = digits.length()
    def kk = n + exp
    def s = ''
    if (exp >= 0 && kk <= 16) {
        s = digits + ('0' * exp) + '.0'
    } else if (kk > 0 && kk <= 16) {
        s = digits.substring(0, kk) + '.' + digits.substring(kk)
    } else if (kk > -5 && kk <= 0) {
        s = '0.' + ('0' * (-kk)) + digits
    } else if (n == 1) {
        s = digits + 'e' + (kk - 1)
    } else {
        s = digits.substring(0, 1) + '.' + digits.substring(1) + 'e' + (kk - 1)
    }
    return (d < 0 ? '-' : '') + s
}

def scalar(v) {
    if (v instanceof Boolean) {
        return v ? 'true' : 'false'
    }
    if (v instanceof java.lang.Double || v instanceof java.lang.Float) {
        return ryu(v)
    }
    return v.toString()
}

// Command-line arguments of a stage's parameters, as spec::flags writes them.
def flags(stageArgs) {
    def out = []
    stageArgs.keySet().collect { k -> k.toString() }.sort().each { k ->
        def v = stageArgs[k]
        if (v == null || (v instanceof Boolean && !v)) {
            return
        }
        if (v instanceof Boolean) {
            out << "--${k}".toString()
        } else if (v instanceof List) {
            out << "--${k}".toString()
            out << v.collect { x -> scalar(x) }.join(',')
        } else {
            out << "--${k}".toString()
            out << scalar(v)
        }
    }
    return out
}

// The groups gmmn-split wrote, from its manifests (every group file records them all).
def splitGroups(out) {
    def manifests = files("${out}/groups/*.parquet.meta.yaml")
        .findAll { f -> !f.name.endsWith('.variants.parquet.meta.yaml') }
        .sort { f -> f.name }
    if (!manifests) {
        error("${out}/groups: gmmn-split wrote no group files")
    }
    def m = new org.yaml.snakeyaml.Yaml().load(manifests[0].text)
    return m.params.groups.collect { g -> g.toString() }
}

// counts.haplotypes of a group file's manifest: as many synthetic haplotypes as real ones.
def haplotypes(out, group) {
    def path = "${out}/groups/${group}.parquet.meta.yaml"
    def m = new org.yaml.snakeyaml.Yaml().load(file(path).text)
    def n = m.counts ? m.counts.haplotypes : null
    if (n == null) {
        error("${path}: no counts.haplotypes")
    }
    return n
}

def threaded(stage, stageArgs) {
    return stage in ['ingest', 'sketch', 'train', 'reference', 'discriminate'] && !stageArgs.containsKey('threads')
}

// gmmn-reference's flags of a spec entry: every key but name and label.
def referenceParams(entry) {
    def p = [:]
    entry.each { k, v ->
        if (!(k.toString() in ['name', 'label'])) {
            p[k.toString()] = v
        }
    }
    return p
}

// ---------------------------------------------------------------------------------------------
// How a stage runs: in the launch directory, into DIR, its output in DIR/logs/<step>.log, its
// command and seconds in DIR/.gmmn/<step>.json.

def q(s) {
    return "'" + s.toString().replace("'", "'\\''") + "'"
}

def stageScript(launchDir, bin, out, step, stage, args, cpus) {
    def name = step.replace('/', '__')
    def logFile = "${out}/logs/${name}.log"
    def stamp = "${out}/.gmmn/${name}.json"
    def program = "gmmn-${stage}"
    def command = ([q("${bin}/${program}")] + args.collect { a -> q(a) }).join(' ')
    if (cpus > 1) {
        command += " --threads ${cpus}"
    }
    def head = '{\n  "program": ' + groovy.json.JsonOutput.toJson(program) + ',\n  "args": ' +
        groovy.json.JsonOutput.toJson(args) + ',\n  "seconds": '
    def lines = [
        'set -euo pipefail',
        'cd ' + q(launchDir),
        'mkdir -p ' + q("${out}/logs") + ' ' + q("${out}/.gmmn"),
        'start=$(date +%s.%N)',
        'if ! ' + command + ' > ' + q(logFile) + ' 2>&1; then',
        '    echo ' + q("${step} failed; its log is ${logFile}:") + ' >&2',
        '    tail -n 15 ' + q(logFile) + ' >&2',
        '    exit 1',
        'fi',
        'seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" \'BEGIN { printf "%.3f", b - a }\')',
        'printf \'%s%s\\n}\\n\' ' + q(head) + ' "$seconds" > ' + q(stamp + '.tmp'),
        'mv ' + q(stamp + '.tmp') + ' ' + q(stamp),
    ]
    return lines.join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------------
// One process per stage. Each takes its arguments (built in the workflow below) and emits the
// names of what it made, which orders the next stages.

process INGEST {
    tag 'ingest'

    input:
    tuple val(ctx), val(args), val(threads)

    output:
    val 'ingest'

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, 'ingest', 'ingest', args, threads ? task.cpus : 1)
}

process SPLIT {
    tag 'split'

    input:
    tuple val(ctx), val(args)

    output:
    val 'split'

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, 'split', 'split', args, 1)
}

process BASELINES {
    tag 'baselines'

    input:
    tuple val(ctx), val(args), val(threads)

    output:
    val 'baselines'

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, 'baselines', 'discriminate', args, threads ? task.cpus : 1)
}

process SKETCH {
    tag "${variant}/${group}"

    input:
    tuple val(ctx), val(variant), val(group), val(args), val(threads)

    output:
    tuple val(variant), val(group)

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, "sketch/${variant}/${group}", 'sketch', args, threads ? task.cpus : 1)
}

process TRAIN {
    tag "${variant}/${group}"

    input:
    tuple val(ctx), val(variant), val(group), val(args), val(threads)

    output:
    tuple val(variant), val(group)

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, "train/${variant}/${group}", 'train', args, threads ? task.cpus : 1)
}

process SAMPLE {
    tag "${variant}/${group}"

    input:
    tuple val(ctx), val(variant), val(group), val(args)

    output:
    tuple val(variant), val(group)

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, "sample/${variant}/${group}", 'sample', args, 1)
}

process PROJECT {
    tag "${variant}"

    input:
    tuple val(ctx), val(variant), val(args)

    output:
    val variant

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, "project/${variant}", 'project', args, 1)
}

// One gmmn-reference per spec reference, on the training part of every group.
process REFERENCE {
    tag "${name}"

    input:
    tuple val(ctx), val(name), val(args), val(threads)

    output:
    val name

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, "reference/${name}", 'reference', args, threads ? task.cpus : 1)
}

// Every gmmn-discriminate of a variant or a reference, strict (report/) and paper (report-paper/):
// `step` is gmmn run's step name (discriminate/<variant>, discriminate-paper/reference/<name>, ...).
process DISCRIMINATE {
    tag "${step}"

    input:
    tuple val(ctx), val(step), val(args), val(threads)

    output:
    val step

    script:
    stageScript(workflow.launchDir, ctx.bin, ctx.out, step, 'discriminate', args, threads ? task.cpus : 1)
}

// The final table from the reports (and the train times recorded in DIR/.gmmn).
process TABLE {
    tag 'table'

    input:
    tuple val(ctx), val(ready)

    output:
    val 'table'

    script:
    """
    cd ${q(workflow.launchDir)}
    ${q("${ctx.bin}/gmmn")} table ${q(ctx.spec)} --out ${q(ctx.out)}
    """
}

// Every artifact checked (schema, sha256, inputs) and DIR/ledger.yaml written: the sealed run.
process AUDIT {
    tag 'audit'

    input:
    tuple val(ctx), val(ready)

    output:
    val 'audit'

    script:
    """
    cd ${q(workflow.launchDir)}
    ${q("${ctx.bin}/gmmn")} audit --seal ${q(ctx.out)}
    """
}

// ---------------------------------------------------------------------------------------------

workflow {
    if (!params.spec) {
        error('give the workflow spec: --spec workflows/NAME.yaml')
    }
    def specPath = params.spec.toString()
    def spec = loadSpec(specPath)
    def out = (params.outdir ?: "out/${spec.name}").toString()
    def bin = file(params.bin.toString()).toString()
    def ctx = [spec: specPath, out: out, bin: bin]
    ['gmmn', 'gmmn-ingest', 'gmmn-split', 'gmmn-sketch', 'gmmn-train', 'gmmn-sample', 'gmmn-reference', 'gmmn-project', 'gmmn-discriminate'].each { b ->
        if (!file("${bin}/${b}").exists()) {
            error("${bin}/${b} is not built: `cargo build --release --workspace --bins`, or pass --bin DIR")
        }
    }
    def vcf = inputPath(specPath, spec.input.vcf)
    def panel = inputPath(specPath, spec.input.panel)
    // The panel column naming each sample's group: `column` (`label` is its former name).
    def label = (spec.input.column ?: spec.input.label ?: 'super_pop').toString()
    def listed = spec.input.groups ? spec.input.groups.collect { g -> g.toString() } : null
    def evaluate = spec.evaluate ?: [:]
    def project = evaluate.project == null ? true : evaluate.project
    def discriminate = evaluate.discriminate == null ? true : evaluate.discriminate
    def holdout = evaluate.holdout == null ? 0 : evaluate.holdout
    def paperProtocol = evaluate['paper-protocol'] == null ? false : evaluate['paper-protocol']
    def baselines = evaluate.baselines == null ? ['floor'] : evaluate.baselines
    if (evaluate['sketch-attack']) {
        // Not scheduled here (yet): a table without the attack's columns would look complete.
        error("${specPath}: evaluate.sketch-attack: not supported by main.nf; run the spec with `gmmn run`")
    }
    baselines.each { b ->
        if (b == 'holdout') {
            error("${specPath}: evaluate.baselines: `holdout` is now called `floor` (the noise floor: training vs held-out real haplotypes when evaluate.holdout > 0, else two halves of the real data): write `baselines: [floor]`")
        }
        if (b == 'independent') {
            error("${specPath}: evaluate.baselines: `independent` is no longer a baseline of gmmn-discriminate; the independent-SNP simulator is a reference of gmmn-reference now: remove it from baselines and write `references: [{name: independent, method: independent}]` under evaluate")
        }
    }
    def references = (evaluate.references ?: []).collect { r -> [name: r.name.toString(), params: referenceParams(r)] }
    def variants = spec.variants.collect { v -> v.name.toString() }

    // gmmn run's argument order for gmmn-project and gmmn-discriminate (heldout: gmmn-discriminate,
    // which with a hold-out reads the held-out part of DIR/groups as --heldout).
    def evaluationArgs = { synthetic, dir, heldout ->
        def groups = listed ?: splitGroups(out)
        def args = ['--real', "${out}/groups".toString()]
        if (heldout && holdout > 0) {
            args += ['--heldout', "${out}/groups".toString()]
        }
        if (synthetic) {
            args += ['--synthetic', synthetic]
        }
        args + ['--groups', groups.join(','), '--out', dir]
    }

    def ingestParams = stageParams(spec, 'ingest')
    INGEST(channel.of([ctx, [vcf, '--out', "${out}/ingest".toString()] + flags(ingestParams), threaded('ingest', ingestParams)]))

    def splitParams = stageParams(spec, 'split')
    if (holdout > 0) {
        splitParams['holdout-fraction'] = holdout
        splitParams = seeded(spec, splitParams)
    }
    def splitArgs = [ "${out}/ingest".toString(), '--panel', panel, '--column', label] +
        (listed ? ['--groups', listed.join(',')] : []) +
        ['--out', "${out}/groups".toString()] + flags(splitParams)
    SPLIT(INGEST.out.map { done -> [ctx, splitArgs] })

    // Every (variant, group): the groups the spec lists, else those gmmn-split found.
    def chains = SPLIT.out.flatMap { done ->
        def groups = listed ?: splitGroups(out)
        variants.collectMany { v -> groups.collect { g -> [v, g] } }
    }

    SKETCH(chains.map { v, g ->
        def p = seeded(spec, variantParams(spec, v, 'sketch'))
        [ctx, v, g, ["${out}/groups/${g}.parquet".toString(), '--out', "${out}/${v}/${g}/sketch".toString()] + flags(p), threaded('sketch', variantParams(spec, v, 'sketch'))]
    })
    TRAIN(SKETCH.out.map { v, g ->
        def p = seeded(spec, variantParams(spec, v, 'train'))
        [ctx, v, g, ["${out}/${v}/${g}/sketch".toString(), '--out', "${out}/${v}/${g}/model".toString()] + flags(p), threaded('train', variantParams(spec, v, 'train'))]
    })
    SAMPLE(TRAIN.out.map { v, g ->
        def p = seeded(spec, variantParams(spec, v, 'sample'))
        if (!p.containsKey('n') && !p.containsKey('individuals')) {
            p.n = haplotypes(out, g)
        }
        [ctx, v, g, ["${out}/${v}/${g}/model".toString(), '--out', "${out}/${v}/synthetic".toString()] + flags(p)]
    })

    // A variant is evaluated once all its groups are sampled (groupTuple waits for every sample).
    def sampled = SAMPLE.out.groupTuple()
    def finished = sampled.map { v, gs -> v }

    if (project) {
        def projectParams = seeded(spec, stageParams(spec, 'project'))
        PROJECT(sampled.map { v, gs ->
            [ctx, v, evaluationArgs("${out}/${v}/synthetic".toString(), "${out}/${v}/projection".toString(), false) + flags(projectParams)]
        })
        finished = finished.mix(PROJECT.out)
    }
    def discriminateParams = seeded(spec, stageParams(spec, 'discriminate'))
    def discriminateThreads = threaded('discriminate', stageParams(spec, 'discriminate'))

    // The references read only the split: they run beside the variants' chains.
    def referenced = channel.empty()
    if (references) {
        REFERENCE(SPLIT.out.flatMap { done ->
            references.collect { r ->
                def p = seeded(spec, r.params)
                [ctx, r.name, ["${out}/groups".toString(), '--out', "${out}/references/${r.name}/synthetic".toString()] + flags(p), threaded('reference', r.params)]
            }
        })
        referenced = REFERENCE.out
        finished = finished.mix(REFERENCE.out)
    }

    if (discriminate) {
        // [step, base]: each gmmn-discriminate of `base`/synthetic, strict and (if asked) paper.
        def judged = { what, base ->
            def runs = [["discriminate/${what}".toString(), "${base}/report".toString(), []]]
            if (paperProtocol) {
                runs << ["discriminate-paper/${what}".toString(), "${base}/report-paper".toString(), ['--protocol', 'paper']]
            }
            runs.collect { run ->
                [ctx, run[0], evaluationArgs("${base}/synthetic".toString(), run[1], true) + run[2] + flags(discriminateParams), discriminateThreads]
            }
        }
        def tasks = sampled.flatMap { v, gs -> judged(v, "${out}/${v}".toString()) }
            .mix(referenced.flatMap { name -> judged("reference/${name}".toString(), "${out}/references/${name}".toString()) })
        DISCRIMINATE(tasks)
        finished = finished.mix(DISCRIMINATE.out)
    }
    if (baselines) {
        BASELINES(SPLIT.out.map { done ->
            [ctx, evaluationArgs(null, "${out}/baselines".toString(), true) + ['--baseline', baselines.join(',')] + flags(discriminateParams), discriminateThreads]
        })
        finished = finished.mix(BASELINES.out)
    }

    TABLE(finished.collect().map { ready -> [ctx, ready.size()] })
    AUDIT(TABLE.out.map { ready -> [ctx, ready] })
}
