rule plot_figures:
    input:
        calibrated=calibrated_frames,
        raw=shown_raw,
        master=path("master"),
        record=path("combine_record"),
    output:
        raw_vs_calibrated=report(
            path("figure", figure="raw_vs_calibrated"),
            caption="../report/raw_vs_calibrated.rst",
            category="Figures",
            subcategory="{group}",
        ),
        histogram=report(
            path("figure", figure="histogram"),
            caption="../report/histogram.rst",
            category="Figures",
            subcategory="{group}",
        ),
        overscan_rows=report(
            path("figure", figure="overscan_rows"),
            caption="../report/overscan_rows.rst",
            category="Figures",
            subcategory="{group}",
        ),
        master=report(
            path("figure", figure="master"),
            caption="../report/master.rst",
            category="Figures",
            subcategory="{group}",
        ),
        rejected=report(
            path("figure", figure="rejected"),
            caption="../report/rejected.rst",
            category="Figures",
            subcategory="{group}",
        ),
        night=report(
            path("figure", figure="night"),
            caption="../report/night.rst",
            category="Figures",
            subcategory="{group}",
        ),
        extensions=report(
            directory(path("extension_figures")),
            patterns=["{extension}.png"],
            caption="../report/extension.rst",
            category="Figures",
            subcategory="{group}",
        ),
    log:
        log_path("plot_figures{group}"),
    benchmark:
        benchmark_path("plot_figures{group}")
    conda:
        "../envs/masterbias.yaml"
    resources:
        mem_mb=RESOURCES.figures_mem_mb,
    params:
        raw_hdu=shown_raw_hdu,
        frames=frame_times,
        code=script_digest("plot_figures.py"),
    script:
        "../scripts/plot_figures.py"
