# Master bias workflow: raw bias frames -> overscan-subtracted, trimmed frames -> master bias.
# The method is the astropy CCD data reduction guide's; see README.md.


configfile: f"{workflow.basedir}/config/config.yaml"


include: "rules/common.smk"
include: "rules/run.smk"
include: "rules/summarize.smk"
include: "rules/calibrate.smk"
include: "rules/combine.smk"
include: "rules/qc.smk"
include: "rules/report.smk"


report: "report/workflow.rst"


rule all:
    default_target: True
    input:
        all_products,
        chosen_figures,
        debiased_products,
